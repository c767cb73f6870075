package leak

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// secretForm is one encoding of one stored secret.
type secretForm struct {
	value string
	name  string
}

// secretSet is an immutable matcher for stored secrets. A bit per
// two-byte prefix filters out almost every text position with one load;
// the rare hits look up the forms sharing the first four bytes.
type secretSet struct {
	count    int
	filter   [1024]uint64
	byPrefix map[uint32][]secretForm
}

func prefix4(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// buildSecretSet indexes every form of every value at least minLen long.
// Names are processed in sorted order so that when two names share a
// value, findings name the same one every time.
func buildSecretSet(named map[string]string, minLen int) *secretSet {
	set := &secretSet{byPrefix: map[uint32][]secretForm{}}
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	slices.Sort(names)
	seen := map[string]bool{}
	for _, name := range names {
		v := named[name]
		if len(v) < minLen {
			continue
		}
		set.count++
		for _, f := range Forms(v) {
			if len(f) < 4 || seen[f] {
				continue
			}
			seen[f] = true
			h := uint16(f[0])<<8 | uint16(f[1])
			set.filter[h>>6] |= 1 << (h & 63)
			k := prefix4(f)
			set.byPrefix[k] = append(set.byPrefix[k], secretForm{value: f, name: name})
		}
	}
	// Longest form first, so the widest span is reported first at a
	// position.
	for _, forms := range set.byPrefix {
		slices.SortFunc(forms, func(a, b secretForm) int { return len(b.value) - len(a.value) })
	}
	return set
}

// secretAt reports every stored-secret form that starts at offset i.
func (s *scanner) secretAt(i int) {
	forms := s.set.byPrefix[prefix4(s.text[i:i+4])]
	for _, f := range forms {
		if strings.HasPrefix(s.text[i:], f.value) {
			s.add(RuleStoredSecret, i, i+len(f.value), f.name)
			return
		}
	}
}

// Forms returns the strings under which a secret value is recognised: the
// value itself, its URL query and path escapings, lower- and upper-case
// hex, and its base64 encodings (standard and URL alphabets) at each of
// the three byte alignments it can have inside a longer base64 text
// (such as "user:SECRET" in a Basic authorization header). For base64,
// only the characters that depend on the secret alone are kept.
func Forms(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)),
		strings.ToUpper(hex.EncodeToString([]byte(v)))}
	for shift := 0; shift < 3; shift++ {
		buf := make([]byte, shift+len(v))
		copy(buf[shift:], v)
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString(buf)
			from := (8*shift + 5) / 6        // first character free of the padding bytes
			to := (8 * (shift + len(v))) / 6 // characters fully inside the value
			if to > len(e) {
				to = len(e)
			}
			if to-from >= 4 {
				forms = append(forms, e[from:to])
			}
		}
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}
