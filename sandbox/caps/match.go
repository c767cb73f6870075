package caps

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// NormalizeHostPattern checks an allowlist host ("api.github.com",
// "*.example.com", "127.0.0.1:8080", "[::1]:9000") and returns it in
// canonical form: lower case, no trailing dot.
func NormalizeHostPattern(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty host")
	}
	if strings.ContainsAny(p, "/@?#% \t\r\n\\") || strings.Contains(p, "://") {
		return "", fmt.Errorf("%q must be a bare host name (no scheme, path, user or spaces)", p)
	}
	name, port, err := splitHostPort(p)
	if err != nil {
		return "", err
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	wild := strings.HasPrefix(name, "*.")
	base := strings.TrimPrefix(name, "*.")
	if strings.Contains(base, "*") {
		return "", fmt.Errorf("%q: only a leading \"*.\" wildcard is allowed", p)
	}
	if addr, err := netip.ParseAddr(strings.Trim(base, "[]")); err == nil {
		if wild {
			return "", fmt.Errorf("%q: a wildcard cannot apply to an IP address", p)
		}
		base = addr.String()
		if addr.Is6() {
			base = "[" + base + "]"
		}
	} else if err := checkDNSName(base); err != nil {
		return "", fmt.Errorf("%q: %v", p, err)
	} else if wild && !strings.Contains(base, ".") {
		return "", fmt.Errorf("%q: a wildcard needs at least two labels after \"*.\"", p)
	}
	out := base
	if wild {
		out = "*." + base
	}
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// splitHostPort separates an optional :port, validating it.
func splitHostPort(p string) (string, string, error) {
	host, port := p, ""
	if strings.HasPrefix(p, "[") {
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%q: unclosed [", p)
		}
		host = p[:end+1]
		rest := p[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", fmt.Errorf("%q: junk after ]", p)
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndexByte(p, ':'); i >= 0 {
		if strings.Count(p, ":") > 1 {
			return "", "", fmt.Errorf("%q: write IPv6 addresses in brackets", p)
		}
		host, port = p[:i], p[i+1:]
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", "", fmt.Errorf("%q: bad port %q", p, port)
		}
	}
	return host, port, nil
}

// CheckHostName reports whether name is a lower-case ASCII DNS name
// (labels of a-z, 0-9 and inner hyphens).
func CheckHostName(name string) error { return checkDNSName(name) }

func checkDNSName(name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("host name must be 1-253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("empty or over-long label in %q", name)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with '-'", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-') {
				return fmt.Errorf("label %q has a character outside a-z, 0-9 and - (use punycode for international names)", label)
			}
		}
	}
	return nil
}

// DefaultPort is the port a scheme uses when the URL names none.
func DefaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

// HostMatches reports whether a normalized pattern admits host:port,
// where host is a normalized request host and port the effective port.
// A pattern without a port admits only the scheme's default port, which
// the caller passes as defaultPort.
func HostMatches(pattern, host string) bool {
	return hostPortMatches(pattern, host, 0, 0)
}

// hostPortMatches compares pattern against host; when port is non-zero
// it must equal the pattern's port, or the default when the pattern has
// none.
func hostPortMatches(pattern, host string, port, defaultPort int) bool {
	name, pport, err := splitHostPort(pattern)
	if err != nil {
		return false
	}
	if port != 0 {
		want := defaultPort
		if pport != "" {
			want, _ = strconv.Atoi(pport)
		}
		if port != want {
			return false
		}
	}
	if strings.HasPrefix(name, "*.") {
		suffix := name[1:] // ".example.com"
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return host == name
}

// Target is a normalized request target, as the HTTP pipeline sees it.
type Target struct {
	Scheme string // http or https
	Host   string // lower case, no trailing dot; IPv6 in brackets
	Port   int    // effective port
	Path   string // decoded, with . and .. resolved
	Method string // upper case
}

// Denial says why no entry admits a target.
type Denial struct {
	Reason string
}

// Error returns the reason.
func (d *Denial) Error() string { return d.Reason }

// Allow returns the first HTTP entry that admits t, or a Denial naming
// the closest reason (host not listed, scheme, method, path).
func (c *Capabilities) Allow(t Target) (Endpoint, error) {
	hostSeen, reason := false, ""
	for _, e := range c.HTTP {
		if !hostPortMatches(e.Host, t.Host, t.Port, DefaultPort(t.Scheme)) {
			continue
		}
		hostSeen = true
		switch {
		case t.Scheme != "https" && !(t.Scheme == "http" && e.AllowHTTP):
			reason = fmt.Sprintf("%s:// to %s is not allowed (https only)", t.Scheme, t.Host)
		case !pathAllowed(e.PathPrefix, t.Path):
			reason = fmt.Sprintf("path %q is outside the allowed prefix %q for %s", t.Path, e.PathPrefix, t.Host)
		case !contains(e.Methods, t.Method):
			reason = fmt.Sprintf("method %s is not allowed for %s%s (allowed: %s)", t.Method, t.Host, e.PathPrefix, strings.Join(e.Methods, ", "))
		default:
			return e, nil
		}
	}
	if !hostSeen {
		return Endpoint{}, &Denial{Reason: fmt.Sprintf("host %s (port %d) is not on the tool's allowlist", t.Host, t.Port)}
	}
	return Endpoint{}, &Denial{Reason: reason}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pathAllowed applies the prefix rule of Endpoint.PathPrefix.
func pathAllowed(prefix, path string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// SecretsFor returns the secrets whose host patterns admit host.
func (c *Capabilities) SecretsFor(host string, port int, scheme string) []Secret {
	var out []Secret
	for _, s := range c.Secrets {
		for _, h := range s.Hosts {
			if hostPortMatches(h, host, port, DefaultPort(scheme)) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// WorkspaceAllows reports whether a clean relative path is readable.
func (c *Capabilities) WorkspaceAllows(path string) bool {
	if c.Workspace == nil {
		return false
	}
	for _, p := range c.Workspace.Read {
		if p == "*" {
			return true
		}
		if strings.HasSuffix(p, "/") {
			if strings.HasPrefix(path, p) {
				return true
			}
		} else if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// ToolFor resolves an alias to a tool name.
func (c *Capabilities) ToolFor(alias string) (string, bool) {
	for _, t := range c.Tools {
		if t.Alias == alias {
			return t.Tool, true
		}
	}
	return "", false
}

// MakesHTTPRequests reports whether any endpoint is granted.
func (c *Capabilities) MakesHTTPRequests() bool { return len(c.HTTP) > 0 }

// InjectsSecrets reports whether any secret is granted.
func (c *Capabilities) InjectsSecrets() bool { return len(c.Secrets) > 0 }
