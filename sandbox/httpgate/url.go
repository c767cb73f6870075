package httpgate

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/hearthbot/hearth/sandbox/caps"
)

// maxURLLen bounds a request URL.
const maxURLLen = 8 << 10

// Normalize parses a guest's URL and returns the URL the host will
// request and the target it checks against the allowlist. The two always
// agree: the path sent is the path checked.
//
// It refuses: anything but absolute http and https URLs; user
// information ("user:pass@host"); control characters, spaces and
// backslashes; percent-encoded slashes, backslashes and NULs in the path
// (%2f %5c %00) and double encoding (%25xx); non-ASCII or percent-encoded
// host names; and paths whose ".." segments (encoded or not, "%2e%2e")
// climb above the root. Other dot segments are resolved. The fragment is
// dropped.
func Normalize(method, raw string) (*url.URL, caps.Target, error) {
	fail := func(reason string) (*url.URL, caps.Target, error) {
		return nil, caps.Target{}, &BlockedError{Stage: StageURL, Reason: reason}
	}
	if len(raw) > maxURLLen {
		return fail("the URL is longer than 8 KiB")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			return fail("the URL contains a space, control character or backslash")
		}
		if c >= 0x80 {
			return fail("the URL contains non-ASCII characters; percent-encode them (and use punycode for host names)")
		}
	}
	m := strings.ToUpper(method)
	if m == "" {
		m = "GET"
	}
	if !isToken(m) {
		return fail("the method is not a valid HTTP method name")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("the URL does not parse: " + strings.TrimPrefix(err.Error(), "parse \""+raw+"\": "))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fail("only absolute http:// and https:// URLs are allowed")
	}
	if u.Opaque != "" || u.Host == "" {
		return fail("the URL has no host")
	}
	// Check the raw authority too, in case a parser elsewhere reads it
	// differently from net/url.
	authority := raw[len(u.Scheme)+3:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if u.User != nil || strings.Contains(authority, "@") {
		return fail("credentials in the URL (user@host) are not allowed; the host injects credentials itself")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" || strings.ContainsAny(host, "%*") {
		return fail("the host name is empty or encoded")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		host = addr.String()
		if addr.Is6() {
			host = "[" + host + "]"
		}
	} else if err := caps.CheckHostName(host); err != nil {
		return fail("the host name is not valid: " + err.Error())
	}
	port := caps.DefaultPort(scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail("the port is not between 1 and 65535")
		}
		port = n
	}

	rawPath := u.EscapedPath()
	lower := strings.ToLower(rawPath)
	for _, enc := range []string{"%2f", "%5c", "%00"} {
		if strings.Contains(lower, enc) {
			return fail("the path contains an encoded separator or NUL (" + enc + ")")
		}
	}
	if hasEncoding(u.Path) {
		return fail("the path is percent-encoded twice (%25xx)")
	}
	clean, ok := resolveDots(u.Path)
	if !ok {
		return fail("the path climbs above the root with ..")
	}

	out := &url.URL{Scheme: scheme, Host: hostPort(host, port, scheme), Path: clean, RawQuery: u.RawQuery}
	return out, caps.Target{Scheme: scheme, Host: host, Port: port, Path: clean, Method: m}, nil
}

func hostPort(host string, port int, scheme string) string {
	if port == caps.DefaultPort(scheme) {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// hasEncoding reports a '%' followed by two hex digits in decoded text.
func hasEncoding(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// resolveDots resolves "." and ".." segments of a decoded path. Segments
// that servers commonly read as dots (";" parameters, trailing spaces:
// "..;x", ".. ") count as dots too. It reports false when ".." would climb
// above the root.
func resolveDots(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		core := s
		if j := strings.IndexByte(core, ';'); j >= 0 {
			core = core[:j]
		}
		core = strings.TrimRight(core, " \t")
		switch core {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/"), true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
