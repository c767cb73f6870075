package safety

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Payload limits.
const (
	minB64Run     = 20      // shortest base64 run that is decoded
	minHexRun     = 24      // shortest hex run that is decoded
	minBlobRun    = 512     // shortest undecodable run reported as a blob
	minEscapes    = 12      // shortest run of \xNN, \uNNNN or %NN escapes
	maxDecodedLen = 1 << 16 // bytes decoded and rescanned per scan
)

// b64Tab marks the bytes of the base64 alphabets (standard and URL-safe,
// with padding).
var b64Tab = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
			b == '+' || b == '/' || b == '=' || b == '-' || b == '_'
	}
	return t
}()

func isB64Byte(b byte) bool { return b64Tab[b] }

func isHexByte(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// scanPayloads looks for encoded payloads in the original text: base64 and
// hex runs, and runs of \x, \u or % escapes. A payload that decodes to
// text is scanned again (one level deep); if the decoded text triggers a
// rule of medium severity or more, the payload is an encoded injection.
func (c *scanCtx) scanPayloads() {
	src := c.v.src
	for i := 0; i < len(src); {
		b := src[i]
		switch {
		case b64Tab[b]:
			j := i + 1
			for j < len(src) && b64Tab[src[j]] {
				j++
			}
			if j-i >= minB64Run {
				c.judgeRun(i, j)
			}
			i = j
			continue
		case b == '\\' && i+1 < len(src) && (src[i+1] == 'x' || src[i+1] == 'u'):
			if j := c.judgeEscapes(i); j > i {
				i = j
				continue
			}
		case b == '%':
			if j := c.judgeEscapes(i); j > i {
				i = j
				continue
			}
		}
		i++
	}
}

// judgeRun decides what a run of base64-alphabet bytes [i,j) is. An '='
// inside the run (key=value) splits it; only trailing '=' is padding.
func (c *scanCtx) judgeRun(i, j int) {
	run := c.v.src[i:j]
	if k := strings.IndexByte(strings.TrimRight(run, "="), '='); k >= 0 {
		e := k
		for e < len(run) && run[e] == '=' {
			e++
		}
		if k >= minB64Run {
			c.judgeRun(i, i+e)
		}
		if j-(i+e) >= minB64Run {
			c.judgeRun(i+e, j)
		}
		return
	}
	var dec []byte
	allHex := true
	for k := 0; k < len(run); k++ {
		if !isHexByte(run[k]) {
			allHex = false
			break
		}
	}
	if allHex && len(run) >= minHexRun && len(run)%2 == 0 {
		dec, _ = hex.DecodeString(run)
	} else if !allHex {
		dec = decodeB64(run)
	}
	if dec != nil && textLike(dec, true) {
		c.judgeDecoded(dec, i, j)
		return
	}
	if len(run) >= minBlobRun && !c.exemptBlob(i, run) {
		c.addOrig(RuleBlob, i, j)
	}
}

// decodeB64 decodes standard or URL-safe base64 with or without padding;
// nil when run is not base64.
func decodeB64(run string) []byte {
	t := strings.TrimRight(run, "=")
	if strings.Contains(t, "=") {
		return nil
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		if strings.ContainsAny(t, "+/") {
			return nil
		}
		enc = base64.RawURLEncoding
	}
	if len(t)%4 == 1 {
		t = t[:len(t)-1]
	}
	out, err := enc.DecodeString(t)
	if err != nil {
		return nil
	}
	return out
}

// textLike reports decoded bytes that read as text: printable ASCII, mostly
// letters and, for base64 and hex, with spaces between words.
func textLike(b []byte, needSpaces bool) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	printable, letters, spaces := 0, 0, 0
	for _, ch := range b {
		switch {
		case ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r':
			spaces++
			printable++
		case isLetterByte(ch):
			letters++
			printable++
		case ch >= 0x20 && ch < 0x7F:
			printable++
		}
	}
	n := len(b)
	if printable*10 < n*9 || letters*10 < n*4 {
		return false
	}
	return !needSpaces || spaces >= 2
}

// judgeDecoded rescans decoded text and reports the payload at [i,j).
// Text in a data: URI is reported only when it hides an injection.
func (c *scanCtx) judgeDecoded(dec []byte, i, j int) {
	dataURI := strings.HasSuffix(c.v.src[max(0, i-8):i], "base64,")
	if c.depth > 0 || c.decoded+len(dec) > maxDecodedLen {
		if !dataURI {
			c.addOrig(RuleEncodedText, i, j)
		}
		return
	}
	c.decoded += len(dec)
	inner := c.det.scanDepth(string(dec), 1)
	for _, f := range inner {
		if f.Severity >= Medium {
			c.addOrig(RuleEncodedInjection, i, j)
			return
		}
	}
	if !dataURI {
		c.addOrig(RuleEncodedText, i, j)
	}
}

// exemptBlob reports long runs that are expected: data: URIs, PEM blocks
// and SSH public keys.
func (c *scanCtx) exemptBlob(i int, run string) bool {
	src := c.v.src
	before := src[max(0, i-40):i]
	if strings.HasSuffix(before, "base64,") || strings.HasPrefix(run, "AAAA") ||
		strings.Contains(before, "ssh-") || strings.Contains(before, "ecdsa-") {
		return true
	}
	back := src[max(0, i-4096):i]
	if k := strings.LastIndex(back, "-----BEGIN "); k >= 0 && !strings.Contains(back[k:], "-----END ") {
		return true
	}
	return false
}

// judgeEscapes decodes a run of \xNN, \uNNNN or %NN escapes starting at i
// and returns where the run ends (i when there is no run).
func (c *scanCtx) judgeEscapes(i int) int {
	src := c.v.src
	var dec []byte
	j, n := i, 0
	for j < len(src) {
		var v []byte
		var w int
		switch {
		case src[j] == '%' && j+2 < len(src) && isHexByte(src[j+1]) && isHexByte(src[j+2]):
			v, _ = hex.DecodeString(src[j+1 : j+3])
			w = 3
		case src[j] == '\\' && j+3 < len(src) && src[j+1] == 'x' && isHexByte(src[j+2]) && isHexByte(src[j+3]):
			v, _ = hex.DecodeString(src[j+2 : j+4])
			w = 4
		case src[j] == '\\' && j+5 < len(src) && src[j+1] == 'u' && src[j+2] == '0' && src[j+3] == '0' &&
			isHexByte(src[j+4]) && isHexByte(src[j+5]):
			v, _ = hex.DecodeString(src[j+4 : j+6])
			w = 6
		}
		if w == 0 {
			break
		}
		dec = append(dec, v...)
		j += w
		n++
	}
	if n < minEscapes {
		return j
	}
	if textLike(dec, false) {
		c.judgeDecoded(dec, i, j)
	}
	return j
}
