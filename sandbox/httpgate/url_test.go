package httpgate

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in       string
		wantURL  string
		wantPath string
		err      string
	}{
		{"https://API.GitHub.com./repos/a/b", "https://api.github.com/repos/a/b", "/repos/a/b", ""},
		{"https://h.test", "https://h.test/", "/", ""},
		{"https://h.test/a/./b/../c?x=1#frag", "https://h.test/a/c?x=1", "/a/c", ""},
		{"https://h.test/a/b/..", "https://h.test/a/", "/a/", ""},
		{"https://h.test/repos/%2e%2e/admin", "https://h.test/admin", "/admin", ""},
		{"https://h.test/repos/.%2E/admin", "https://h.test/admin", "/admin", ""},
		{"https://h.test/a/..;x/b", "https://h.test/b", "/b", ""},
		{"https://h.test/a%20b", "https://h.test/a%20b", "/a b", ""},
		{"https://h.test:8443/x", "https://h.test:8443/x", "/x", ""},
		{"https://h.test:443/x", "https://h.test/x", "/x", ""},
		{"http://[::1]:80/x", "http://[::1]/x", "/x", ""},
		{"https://h.test/../etc/passwd", "", "", "climbs above the root"},
		{"https://h.test/%2e%2e/%2e%2e/etc", "", "", "climbs above the root"},
		{"https://h.test/a%2fb", "", "", "encoded separator"},
		{"https://h.test/a%5Cb", "", "", "encoded separator"},
		{"https://h.test/a%00", "", "", "encoded separator or NUL"},
		{"https://h.test/a%252e%252e/", "", "", "encoded twice"},
		{"https://user:pw@h.test/", "", "", "credentials in the URL"},
		{"https://user@h.test/", "", "", "credentials in the URL"},
		{"https://h.test\\@evil.test/", "", "", "backslash"},
		{"https://h.test/a b", "", "", "space"},
		{"https://h.test/\x7f", "", "", "control character"},
		{"https://bücher.de/", "", "", "non-ASCII"},
		{"https://h%2etest/", "", "", "does not parse"},
		{"https://*.h.test/", "", "", "host name is empty or encoded"},
		{"ftp://h.test/", "", "", "only absolute http"},
		{"//h.test/x", "", "", "only absolute http"},
		{"https:///x", "", "", "no host"},
		{"https://h.test:0/", "", "", "port"},
		{"https://h.test:99999/", "", "", "port"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, target, err := Normalize("get", tt.in)
			if tt.err != "" {
				var be *BlockedError
				if !errors.As(err, &be) || be.Stage != StageURL || !strings.Contains(be.Reason, tt.err) {
					t.Fatalf("Normalize(%q) err = %v, want url block containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if u.String() != tt.wantURL || target.Path != tt.wantPath || target.Method != "GET" {
				t.Fatalf("Normalize(%q) = %q path %q method %q; want %q path %q", tt.in, u, target.Path, target.Method, tt.wantURL, tt.wantPath)
			}
		})
	}
}

func TestForbiddenAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1":            true,
		"127.9.9.9":            true,
		"10.1.2.3":             true,
		"172.16.0.1":           true,
		"192.168.1.1":          true,
		"169.254.169.254":      true, // cloud metadata
		"0.0.0.0":              true,
		"100.64.0.1":           true,
		"224.0.0.1":            true,
		"255.255.255.255":      true,
		"::1":                  true,
		"::":                   true,
		"fe80::1":              true,
		"fc00::1":              true,
		"::ffff:127.0.0.1":     true,
		"::ffff:10.0.0.1":      true,
		"64:ff9b::7f00:1":      true, // NAT64 of 127.0.0.1
		"2002:7f00:1::":        true, // 6to4 of 127.0.0.1
		"93.184.215.14":        false,
		"203.0.113.10":         false,
		"2606:4700:4700::1111": false,
		"64:ff9b::5db8:d70e":   false, // NAT64 of a public address
	} {
		why, got := ForbiddenAddr(netip.MustParseAddr(addr))
		if got != want {
			t.Errorf("ForbiddenAddr(%s) = %v (%s), want %v", addr, got, why, want)
		}
	}
}

// FuzzNormalize checks the invariants the allowlist relies on: an
// accepted URL has a rooted path without dot segments or encoded
// separators, its host is lower case, and normalising the result again
// changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"https://h.test/a/../b", "https://h.test/%2e%2e/x", "https://H.TEST./a/./b/", "http://[::1]:8080/x?y=1#z",
		"https://u@h.test/", "https://h.test/a%2fb", "https://h.test/..;/x", "https://h.test/a/b/%2E./c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, target, err := Normalize("GET", raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(target.Path, "/") || target.Host != strings.ToLower(target.Host) {
			t.Fatalf("%q: path %q host %q", raw, target.Path, target.Host)
		}
		for _, seg := range strings.Split(target.Path, "/") {
			core := strings.TrimRight(strings.SplitN(seg, ";", 2)[0], " \t")
			if core == "." || core == ".." {
				t.Fatalf("%q: dot segment survives in %q", raw, target.Path)
			}
		}
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") || strings.Contains(u.String(), "@") && u.User != nil {
			t.Fatalf("%q: %s", raw, u)
		}
		u2, target2, err := Normalize("GET", u.String())
		if err != nil || u2.String() != u.String() || target2 != target {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", raw, u, u2, err)
		}
	})
}
