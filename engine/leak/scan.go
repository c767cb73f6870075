package leak

import (
	"encoding/base64"
	"math"
	"strings"
)

// Byte classes, built once; read-only afterwards.
var (
	classAlnum     = byteClass("0-9A-Za-z")
	classB64URL    = byteClass("0-9A-Za-z_-")
	classB64Std    = byteClass("0-9A-Za-z+/")
	classB64StdPad = byteClass("0-9A-Za-z+/=")
	classUpperNum  = byteClass("0-9A-Z")
	classUpperSp   = byteClass("0-9A-Z ")
	classWordUnder = byteClass("0-9A-Za-z_")
	classSlack     = byteClass("0-9A-Za-z-")
	classWebhook   = byteClass("0-9A-Za-z/_")
	classToken     = byteClass("0-9A-Za-z._~+/=-")
	classHex       = byteClass("0-9a-fA-F")
	classAssign    = byteClass(" \t\"':=")
	classBlank     = byteClass(" \t")
	// classURLStop ends the authority part of a URL.
	classURLStop = byteClass("/?#@ \t\r\n\"'<>`")
	// triggers are the first bytes of every pattern rule (a leading "-" is
	// literal, not a range).
	triggers = byteClass("-srwgxhAaGyPbBe:")
)

// byteClass expands a set like "0-9A-Z_" into a lookup table.
func byteClass(spec string) (t [256]bool) {
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for c := int(spec[i]); c <= int(spec[i+2]); c++ {
				t[c] = true
			}
			i += 2
			continue
		}
		t[spec[i]] = true
	}
	return t
}

// scanner is the state of one Scan call.
type scanner struct {
	cfg  *config
	set  *secretSet
	text string
	out  []Finding
	// patternEnd suppresses pattern matches that start inside one already
	// found (a JWT after "Bearer ", "sk-" inside "sk-ant-").
	patternEnd int
}

func (s *scanner) run() {
	t := s.text
	n := len(t)
	hexStart := -1
	secrets := s.set.count > 0
	for i := 0; i < n; i++ {
		c := t[i]
		if classHex[c] {
			if hexStart < 0 {
				hexStart = i
			}
		} else if hexStart >= 0 {
			s.hexRun(hexStart, i)
			hexStart = -1
		}
		if secrets && i+4 <= n {
			h := uint16(c)<<8 | uint16(t[i+1])
			if s.set.filter[h>>6]&(1<<(h&63)) != 0 {
				s.secretAt(i)
			}
		}
		// Every pattern starts at a word boundary except the "://" of a
		// URL with a password; checking it here keeps letters inside
		// ordinary words off the slow path.
		if triggers[c] && i >= s.patternEnd && (c == ':' || i == 0 || !classAlnum[t[i-1]]) {
			s.patternsAt(i, c)
		}
	}
	if hexStart >= 0 {
		s.hexRun(hexStart, n)
	}
}

// add records a finding unless the rule is disabled.
func (s *scanner) add(rule string, start, end int, secret string) {
	if s.cfg.disabled[rule] {
		return
	}
	s.out = append(s.out, Finding{Rule: rule, Start: start, End: end, SecretName: secret, Action: s.cfg.action(rule)})
}

// pattern records a credential-format match and skips past it.
func (s *scanner) pattern(rule string, start, end int) {
	s.add(rule, start, end, "")
	s.patternEnd = end
}

func (s *scanner) boundaryBefore(i int) bool {
	return i == 0 || !classAlnum[s.text[i-1]]
}

func (s *scanner) boundaryAfter(i int) bool {
	return i >= len(s.text) || !classAlnum[s.text[i]]
}

// span returns the end of the run of bytes in class starting at i.
func (s *scanner) span(i int, class *[256]bool) int {
	t := s.text
	for i < len(t) && class[t[i]] {
		i++
	}
	return i
}

func (s *scanner) has(i int, prefix string) bool {
	return strings.HasPrefix(s.text[i:], prefix)
}

// hasFold is a case-insensitive ASCII prefix test where '-' and '_' are
// interchangeable (so AWS-SECRET-ACCESS-KEY matches too).
func (s *scanner) hasFold(i int, prefix string) bool {
	t := s.text
	if len(t)-i < len(prefix) {
		return false
	}
	for k := 0; k < len(prefix); k++ {
		a, b := lower(t[i+k]), prefix[k]
		if a == '-' {
			a = '_'
		}
		if a != b {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// digitsAndLetters reports whether t contains at least one digit and one
// letter, which tells random keys from ordinary hyphenated words.
func digitsAndLetters(t string) bool {
	var d, l bool
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case '0' <= c && c <= '9':
			d = true
		case ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
			l = true
		}
	}
	return d && l
}

// patternsAt tries the credential rules whose first byte is c at offset i.
func (s *scanner) patternsAt(i int, c byte) {
	switch c {
	case 's', 'r', 'w':
		s.keysWithPrefix(i)
	case 'g':
		s.github(i)
	case 'x':
		s.slack(i)
	case 'h':
		s.slackWebhook(i)
	case 'A', 'a':
		s.aws(i)
	case 'y', 'G':
		s.googleOAuth(i)
	case '-', 'P':
		s.privateKey(i)
	case 'b', 'B':
		s.authorization(i)
	case 'e':
		s.jwt(i)
	case ':':
		s.urlPassword(i)
	}
}

// keysWithPrefix covers OpenAI, Anthropic and Stripe keys.
func (s *scanner) keysWithPrefix(i int) {
	if !s.boundaryBefore(i) {
		return
	}
	switch {
	case s.has(i, "sk-ant-"):
		if end := s.span(i+7, &classB64URL); end-(i+7) >= 32 {
			s.pattern(RuleAnthropic, i, end)
		}
	case s.has(i, "sk-"):
		end := s.span(i+3, &classB64URL)
		if end-(i+3) >= 20 && digitsAndLetters(s.text[i+3:end]) {
			s.pattern(RuleOpenAI, i, end)
		}
	case s.has(i, "sk_live_"), s.has(i, "sk_test_"), s.has(i, "rk_live_"), s.has(i, "rk_test_"):
		if end := s.span(i+8, &classAlnum); end-(i+8) >= 16 {
			s.pattern(RuleStripe, i, end)
		}
	case s.has(i, "whsec_"):
		if end := s.span(i+6, &classB64StdPad); end-(i+6) >= 24 {
			s.pattern(RuleStripe, i, end)
		}
	}
}

func (s *scanner) github(i int) {
	if !s.boundaryBefore(i) || len(s.text)-i < 4 {
		return
	}
	t := s.text
	if t[i+1] == 'h' && t[i+3] == '_' && strings.IndexByte("pousr", t[i+2]) >= 0 {
		if end := s.span(i+4, &classAlnum); end-(i+4) >= 30 {
			s.pattern(RuleGitHub, i, end)
		}
		return
	}
	if s.has(i, "github_pat_") {
		if end := s.span(i+11, &classWordUnder); end-(i+11) >= 40 {
			s.pattern(RuleGitHub, i, end)
		}
	}
}

func (s *scanner) slack(i int) {
	if !s.boundaryBefore(i) {
		return
	}
	t := s.text
	body := -1
	switch {
	case len(t)-i >= 5 && s.has(i, "xox") && strings.IndexByte("bapsre", t[i+3]) >= 0 && t[i+4] == '-':
		body = i + 5
	case s.has(i, "xapp-"):
		body = i + 5
	}
	if body < 0 {
		return
	}
	if end := s.span(body, &classSlack); end-body >= 10 && digitsAndLetters(t[body:end]) {
		s.pattern(RuleSlack, i, end)
	}
}

func (s *scanner) slackWebhook(i int) {
	const p = "https://hooks.slack.com/services/"
	if s.has(i, p) {
		if end := s.span(i+len(p), &classWebhook); end-(i+len(p)) >= 20 {
			s.pattern(RuleSlackWebhook, i, end)
		}
	}
}

// awsPrefixes are the four-letter prefixes of AWS access key ids.
var awsPrefixes = [...]string{"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA", "ABIA", "ACCA"}

// aws covers access key ids, secret access keys next to their name, and
// Google API keys (which also start with 'A').
func (s *scanner) aws(i int) {
	t := s.text
	if t[i] == 'A' && s.boundaryBefore(i) && len(t)-i >= 20 {
		for _, p := range awsPrefixes {
			if s.has(i, p) {
				if s.span(i+4, &classUpperNum) >= i+20 && s.boundaryAfter(i+20) {
					s.pattern(RuleAWSAccessKey, i, i+20)
					return
				}
				break
			}
		}
		if s.has(i, "AIza") {
			if end := s.span(i+4, &classB64URL); end-(i+4) >= 35 {
				s.pattern(RuleGoogleAPIKey, i, end)
				return
			}
		}
	}
	for _, name := range [...]string{"aws_secret_access_key", "aws_secret_key"} {
		if !s.hasFold(i, name) {
			continue
		}
		j := i + len(name)
		sep := s.span(j, &classAssign)
		if sep == j || sep-j > 8 || !strings.ContainsAny(t[j:sep], ":=") {
			return
		}
		end := s.span(sep, &classB64Std)
		if end-sep == 40 && (end == len(t) || t[end] != '=') {
			s.pattern(RuleAWSSecretKey, sep, end)
		}
		return
	}
}

func (s *scanner) googleOAuth(i int) {
	if !s.boundaryBefore(i) {
		return
	}
	for _, p := range [...]string{"ya29.", "GOCSPX-"} {
		if s.has(i, p) {
			if end := s.span(i+len(p), &classB64URL); end-(i+len(p)) >= 20 {
				s.pattern(RuleGoogleOAuth, i, end)
			}
			return
		}
	}
}

// privateKey covers PEM blocks ("-----BEGIN ... PRIVATE KEY-----"), SSH2
// and PuTTY key files. The span runs to the end marker, or to the end of
// the text when the block is cut off (a partial key still leaks).
func (s *scanner) privateKey(i int) {
	t := s.text
	switch {
	case s.has(i, "-----BEGIN "):
		j := i + len("-----BEGIN ")
		k := s.span(j, &classUpperSp)
		label := t[j:k]
		if k-j > 60 || !s.has(k, "-----") ||
			!(strings.HasSuffix(label, "PRIVATE KEY") || strings.HasSuffix(label, "PRIVATE KEY BLOCK")) {
			return
		}
		rule := RulePrivateKey
		if strings.Contains(label, "OPENSSH") {
			rule = RuleSSHPrivateKey
		}
		s.pattern(rule, i, s.blockEnd(k+5, "-----END ", "-----"))
	case s.has(i, "---- BEGIN SSH2 "):
		eol := strings.IndexByte(t[i:], '\n')
		if eol < 0 {
			eol = len(t) - i
		}
		if strings.Contains(t[i:i+eol], "PRIVATE KEY") {
			s.pattern(RuleSSHPrivateKey, i, s.blockEnd(i+eol, "---- END SSH2", "----"))
		}
	case s.has(i, "PuTTY-User-Key-File-"):
		s.pattern(RuleSSHPrivateKey, i, s.blockEnd(i, "Private-MAC:", "\n"))
	}
}

// blockEnd finds begin marker end, then the closing suffix after it; the
// end of the text when either is missing.
func (s *scanner) blockEnd(from int, endMarker, closing string) int {
	t := s.text
	k := strings.Index(t[from:], endMarker)
	if k < 0 {
		return len(t)
	}
	e := from + k + len(endMarker)
	c := strings.Index(t[e:], closing)
	if c < 0 {
		return len(t)
	}
	return e + c + len(closing)
}

// authorization covers "Bearer TOKEN" and "Basic BASE64(user:pass)".
func (s *scanner) authorization(i int) {
	if !s.boundaryBefore(i) {
		return
	}
	t := s.text
	switch {
	case s.hasFold(i, "bearer"):
		j := i + len("bearer")
		k := s.span(j, &classBlank)
		if k == j {
			return
		}
		end := s.span(k, &classToken)
		tok := t[k:end]
		if len(tok) >= 16 && (digitsAndLetters(tok) || mixedCase(tok)) {
			s.pattern(RuleBearer, k, end)
		}
	case s.hasFold(i, "basic"):
		j := i + len("basic")
		k := s.span(j, &classBlank)
		if k == j {
			return
		}
		end := s.span(k, &classB64StdPad)
		if end-k < 8 {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(t[k:end])
		if err == nil && len(raw) >= 3 && strings.IndexByte(string(raw), ':') > 0 && printable(raw) {
			s.pattern(RuleBasicAuth, k, end)
		}
	}
}

func mixedCase(t string) bool {
	var up, low bool
	for i := 0; i < len(t); i++ {
		up = up || ('A' <= t[i] && t[i] <= 'Z')
		low = low || ('a' <= t[i] && t[i] <= 'z')
	}
	return up && low
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// jwt covers compact JSON Web Tokens: eyJ<header>.<payload>.<signature>.
func (s *scanner) jwt(i int) {
	if !s.boundaryBefore(i) || !s.has(i, "eyJ") {
		return
	}
	t := s.text
	h := s.span(i+3, &classB64URL)
	if h-i < 10 || h >= len(t) || t[h] != '.' {
		return
	}
	p := s.span(h+1, &classB64URL)
	if p-(h+1) < 10 || p >= len(t) || t[p] != '.' {
		return
	}
	end := s.span(p+1, &classB64URL)
	s.pattern(RuleJWT, i, end)
}

// urlPassword covers "scheme://user:password@host"; the span is the
// password.
func (s *scanner) urlPassword(i int) {
	if !s.has(i, "://") || i == 0 || !classAlnum[s.text[i-1]] {
		return
	}
	t := s.text
	start := i + 3
	end := start
	for end < len(t) && !classURLStop[t[end]] {
		end++
	}
	if end >= len(t) || t[end] != '@' {
		return
	}
	colon := strings.IndexByte(t[start:end], ':')
	if colon < 0 || start+colon+1 == end {
		return
	}
	s.pattern(RuleURLPassword, start+colon+1, end)
}

// hexRun judges a maximal run of hex digits at [start,end).
func (s *scanner) hexRun(start, end int) {
	if end-start < s.cfg.hexMinLen {
		return
	}
	t := s.text
	okBefore := start == 0 || !classAlnum[t[start-1]] ||
		(start >= 2 && t[start-1] == 'x' && t[start-2] == '0' && (start == 2 || !classAlnum[t[start-3]]))
	if !okBefore || !s.boundaryAfter(end) {
		return
	}
	run := t[start:end]
	if !digitsAndLetters(run) || hexEntropy(run) < s.cfg.hexMinEntropy {
		return
	}
	s.add(RuleHighEntropyHex, start, end, "")
}

// hexEntropy is the Shannon entropy of a hex string in bits per character.
func hexEntropy(run string) float64 {
	var counts [16]int
	for i := 0; i < len(run); i++ {
		c := lower(run[i])
		if c <= '9' {
			counts[c-'0']++
		} else {
			counts[c-'a'+10]++
		}
	}
	n := float64(len(run))
	var h float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
