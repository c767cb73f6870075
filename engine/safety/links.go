package safety

import (
	"strings"
)

// defaultKnownHosts are image and link hosts that are common in benign
// documents (badges, avatars, docs) and do not log data for a third party.
// Their subdomains are included.
var defaultKnownHosts = []string{
	"github.com", "githubusercontent.com", "githubassets.com", "shields.io", "badgen.net",
	"codecov.io", "coveralls.io", "travis-ci.org", "travis-ci.com", "circleci.com",
	"gravatar.com", "wikipedia.org", "wikimedia.org", "gitlab.com", "bitbucket.org",
	"readthedocs.io", "readthedocs.org", "npmjs.com", "pypi.org", "go.dev", "golang.org",
	"docker.com", "mozilla.org", "microsoft.com", "apple.com", "google.com", "gstatic.com",
	"youtube.com", "ytimg.com", "stackoverflow.com", "sstatic.net", "unsplash.com",
}

// hostSet is a set of host names; a name also covers its subdomains.
type hostSet map[string]struct{}

func newHostSet(lists ...[]string) hostSet {
	s := hostSet{}
	for _, l := range lists {
		for _, h := range l {
			h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
			if h != "" {
				s[h] = struct{}{}
			}
		}
	}
	return s
}

// has reports whether host or one of its parent domains is in s.
func (s hostSet) has(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for host != "" {
		if _, ok := s[host]; ok {
			return true
		}
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return false
		}
		host = host[i+1:]
	}
	return false
}

// link is a URL found in text, in original-text coordinates.
type link struct {
	url        string
	host       string
	pathQuery  string
	start, end int // span of the whole construct (image, link or bare URL)
}

// parseURL splits an http(s) URL into host and the rest. ok is false for
// anything else.
func parseURL(u string) (host, rest string, ok bool) {
	lu := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lu, "http://"):
		u = u[7:]
	case strings.HasPrefix(lu, "https://"):
		u = u[8:]
	case strings.HasPrefix(lu, "//"):
		u = u[2:]
	default:
		return "", "", false
	}
	end := strings.IndexAny(u, "/?#")
	if end < 0 {
		end = len(u)
	}
	host, rest = u[:end], u[end:]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if strings.HasPrefix(host, "[") { // IPv6 literal
		if k := strings.IndexByte(host, ']'); k > 0 {
			host = host[1:k]
		}
	} else if k := strings.LastIndexByte(host, ':'); k >= 0 {
		host = host[:k]
	}
	host = strings.ToLower(host)
	return host, rest, host != ""
}

// sensitiveSlot words mark a URL placeholder that asks for private data.
// API documentation is full of {owner}, YOUR_API_KEY and {token} slots,
// so those are not on this list.
var sensitiveSlot = []string{"conversation", "history", "chat", "memory", "prompt", "secret",
	"password", "credential", "summary", "context", "messages", "previous", "privatekey",
	"sshkey", "envvars", "environment", "personal", "userdata"}

// imageSlot words mark any data placeholder in an image URL.
var imageSlot = append([]string{"data", "token", "key", "apikey", "email", "name", "info", "content",
	"insert", "here", "user", "placeholder", "value", "payload", "leak"}, sensitiveSlot...)

// placeholders returns the placeholder texts in a URL: {x}, {{x}}, [X],
// <x>, $X, ${x}, %7Bx%7D and UPPER_CASE words.
func placeholders(u string) []string {
	var out []string
	lower := percentBrackets.Replace(strings.ToLower(u))
	for _, pair := range [][2]byte{{'{', '}'}, {'[', ']'}, {'<', '>'}} {
		for off := 0; off < len(lower); {
			i := strings.IndexByte(lower[off:], pair[0])
			if i < 0 {
				break
			}
			i += off
			j := strings.IndexByte(lower[i+1:], pair[1])
			if j < 0 || j > 60 {
				break
			}
			out = append(out, lower[i+1:i+1+j])
			off = i + 1 + j
		}
	}
	for i := 0; i+1 < len(u); i++ {
		if u[i] == '$' && (isLetterByte(u[i+1]) || u[i+1] == '{' || u[i+1] == '(') {
			k := i + 1
			for k < len(u) && (isWordByte(u[k]) || u[k] == '{' || u[k] == '(') && k < i+40 {
				k++
			}
			out = append(out, strings.ToLower(u[i+1:k]))
		}
	}
	// UPPER_CASE words of four or more letters in the path or query.
	for i := 0; i < len(u); {
		if u[i] < 'A' || u[i] > 'Z' || (i > 0 && isLetterByte(u[i-1])) {
			i++
			continue
		}
		k := i
		for k < len(u) && (u[k] >= 'A' && u[k] <= 'Z' || u[k] == '_') {
			k++
		}
		if k-i >= 4 && (k >= len(u) || !isLetterByte(u[k])) {
			out = append(out, strings.ToLower(u[i:k]))
		}
		i = k + 1
	}
	return out
}

var (
	percentBrackets = strings.NewReplacer("%7b", "{", "%7d", "}", "%5b", "[", "%5d", "]", "%3c", "<", "%3e", ">")
	slotSeparators  = strings.NewReplacer("_", "", "-", "", " ", "", "{", "", "}", "")
)

// slotMatches reports whether any placeholder names one of words.
func slotMatches(slots []string, words []string) bool {
	for _, s := range slots {
		n := slotSeparators.Replace(s)
		if strings.HasSuffix(n, "id") || strings.HasSuffix(n, "ids") {
			continue
		}
		for _, w := range words {
			if strings.Contains(n, w) {
				return true
			}
		}
	}
	return false
}

// dataLooking reports a query value or path segment long and varied enough
// to carry encoded data.
func dataLooking(pathQuery string) bool {
	seg := 0
	letters, digits := 0, 0
	enc := strings.Count(strings.ToLower(pathQuery), "%20") + strings.Count(pathQuery, "+")
	if enc >= 4 {
		return true
	}
	flush := func(limit int) bool {
		ok := seg >= limit && letters > 0 && digits > 0
		seg, letters, digits = 0, 0, 0
		return ok
	}
	inQuery := false
	for i := 0; i < len(pathQuery); i++ {
		ch := pathQuery[i]
		switch {
		case isLetterByte(ch):
			letters++
			seg++
		case ch >= '0' && ch <= '9':
			digits++
			seg++
		case ch == '%' || ch == '-' || ch == '_' || ch == '+' || ch == '=' && !inQuery:
			seg++
		case ch == '?':
			inQuery = true
			if flush(48) {
				return true
			}
		default: // '/', '&', '=', '.', '#'
			limit := 48
			if inQuery {
				limit = 32
			}
			if flush(limit) {
				return true
			}
		}
	}
	limit := 48
	if inQuery {
		limit = 32
	}
	return flush(limit)
}

// ---- anchors ----

func linkAnchors() []anchor {
	return []anchor{
		{"![", checkMarkdownImage},
		{"<img", checkHTMLImage},
		{"](", checkMarkdownLink},
		{"http://", checkBareURL},
		{"https://", checkBareURL},
	}
}

// urlEnd returns where a URL starting at original offset i ends; inParens
// allows < > and stops at the closing parenthesis.
func urlEnd(src string, i int, inParens bool) int {
	depth := 0
	k := i
	for ; k < len(src) && k < i+2048; k++ {
		ch := src[k]
		switch ch {
		case ' ', '\t', '\n', '\r', '"', '`':
			return k
		case '\'':
			if !inParens {
				return k
			}
		case '<', '>':
			if !inParens {
				return k
			}
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return k
			}
			depth--
		}
	}
	return k
}

func (c *scanCtx) judgeImage(l link) {
	slots := placeholders(l.pathQuery)
	if slotMatches(slots, imageSlot) {
		c.addOrig(RuleExfilImageTemplate, l.start, l.end)
		return
	}
	if !c.det.known.has(l.host) && dataLooking(l.pathQuery) {
		c.addOrig(RuleExfilImageData, l.start, l.end)
	}
}

func (c *scanCtx) judgeLink(l link) {
	if slotMatches(placeholders(l.pathQuery), sensitiveSlot) {
		c.addOrig(RuleExfilLinkTemplate, l.start, l.end)
	}
	if strings.Contains(l.pathQuery, "$(") || strings.Contains(l.pathQuery, "%24(") {
		c.addOrig(RuleCmdSubst, l.start, l.end)
	}
}

// parenURL parses "(url)" or "(<url> "title")" starting at original
// offset open (the '(').
func parenURL(src string, open int) (u string, end int, ok bool) {
	i := open + 1
	for i < len(src) && src[i] == ' ' {
		i++
	}
	angled := i < len(src) && src[i] == '<'
	if angled {
		i++
	}
	e := urlEnd(src, i, true)
	u = src[i:e]
	if angled {
		u = strings.TrimSuffix(u, ">")
	}
	close := strings.IndexByte(src[e:min(len(src), e+200)], ')')
	if close < 0 {
		return "", 0, false
	}
	return u, e + close + 1, true
}

func checkMarkdownImage(c *scanCtx, a, b int) {
	f := c.v.fold
	lim := min(len(f), b+300)
	k := b
	for ; k+1 < lim; k++ {
		if f[k] == ']' && f[k+1] == '(' {
			break
		}
		if f[k] == '\n' && c.at(k+1) == '\n' {
			return
		}
	}
	if k+1 >= lim {
		return
	}
	s, _ := c.v.foldSpan(a, a+1)
	open, _ := c.v.foldSpan(k+1, k+2)
	u, end, ok := parenURL(c.v.src, open)
	if !ok {
		return
	}
	host, rest, ok := parseURL(u)
	if !ok {
		return
	}
	c.judgeImage(link{url: u, host: host, pathQuery: rest, start: s, end: end})
}

func checkHTMLImage(c *scanCtx, a, b int) {
	f := c.v.fold
	if c.at(b) != ' ' && c.at(b) != '\t' && c.at(b) != '\n' {
		return
	}
	lim := min(len(f), b+400)
	k := b
	for ; k+4 < lim; k++ {
		if f[k] == '>' {
			return
		}
		if f[k] == 's' && f[k+1] == 'r' && f[k+2] == 'c' && f[k+3] == '=' && !isLetterByte(f[k-1]) {
			break
		}
	}
	if k+4 >= lim {
		return
	}
	q := k + 4
	quote := c.at(q)
	s, _ := c.v.foldSpan(a, a+1)
	us, _ := c.v.foldSpan(q, q+1)
	src := c.v.src
	var u string
	if quote == '"' || quote == '\'' {
		e := strings.IndexByte(src[us+1:min(len(src), us+2049)], src[us])
		if e < 0 {
			return
		}
		u = src[us+1 : us+1+e]
	} else {
		u = src[us:urlEnd(src, us, false)]
	}
	gt := strings.IndexByte(src[us:min(len(src), us+2400)], '>')
	end := us + len(u)
	if gt >= 0 {
		end = us + gt + 1
	}
	host, rest, ok := parseURL(u)
	if !ok {
		return
	}
	c.judgeImage(link{url: u, host: host, pathQuery: rest, start: s, end: end})
}

func checkMarkdownLink(c *scanCtx, a, b int) {
	f := c.v.fold
	// find the opening '[' of the link text
	k := a - 1
	for ; k >= 0 && k >= a-300; k-- {
		if f[k] == '[' {
			break
		}
		if f[k] == ']' || f[k] == '\n' && c.before(k) == '\n' {
			return
		}
	}
	if k < 0 || k < a-300 || c.before(k) == '!' {
		return // not a link, or an image (checked by its own anchor)
	}
	s, _ := c.v.foldSpan(k, k+1)
	open, _ := c.v.foldSpan(a+1, a+2)
	u, end, ok := parenURL(c.v.src, open)
	if !ok {
		return
	}
	host, rest, ok := parseURL(u)
	if !ok {
		return
	}
	c.judgeLink(link{url: u, host: host, pathQuery: rest, start: s, end: end})
}

func checkBareURL(c *scanCtx, a, b int) {
	if isLetterByte(c.before(a)) || c.before(a) == '(' || c.before(a) == '<' || c.before(a) == '"' ||
		c.before(a) == '=' || c.before(a) == '\'' {
		return // part of a word, a Markdown link, a tag or an attribute
	}
	s, _ := c.v.foldSpan(a, a+1)
	if s < c.seen[seenURL] {
		return // inside the URL examined last
	}
	e := urlEnd(c.v.src, s, false)
	c.seen[seenURL] = e
	u := strings.TrimRight(c.v.src[s:e], ".,;:!?")
	host, rest, ok := parseURL(u)
	if !ok {
		return
	}
	c.judgeLink(link{url: u, host: host, pathQuery: rest, start: s, end: s + len(u)})
}
