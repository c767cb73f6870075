package caps

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEmptyGrantsNothing(t *testing.T) {
	for _, in := range []string{"", "  \n", "{}"} {
		c, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if c.MakesHTTPRequests() || c.InjectsSecrets() || c.WorkspaceAllows("notes/a.md") || len(c.Tools) != 0 {
			t.Fatalf("Parse(%q) granted something: %+v", in, c)
		}
		if _, err := c.Allow(Target{Scheme: "https", Host: "example.com", Port: 443, Path: "/", Method: "GET"}); err == nil {
			t.Fatal("empty capabilities allowed a request")
		}
		if d := c.Describe(); len(d) != 1 || !strings.HasPrefix(d[0], "nothing") {
			t.Fatalf("Describe = %v", d)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, field string
	}{
		{"unknown field", `{"htp": []}`, "unknown field"},
		{"unknown nested field", `{"http":[{"host":"a.com","methods":["GET"],"allow_all":true}]}`, "unknown field"},
		{"trailing", `{} {}`, "trailing"},
		{"not json", `http: yes`, "invalid character"},
		{"no methods", `{"http":[{"host":"a.com"}]}`, "http[0].methods"},
		{"bad method", `{"http":[{"host":"a.com","methods":["FETCH"]}]}`, "http[0].methods[0]"},
		{"scheme in host", `{"http":[{"host":"https://a.com","methods":["GET"]}]}`, "http[0].host"},
		{"path in host", `{"http":[{"host":"a.com/x","methods":["GET"]}]}`, "http[0].host"},
		{"userinfo in host", `{"http":[{"host":"u@a.com","methods":["GET"]}]}`, "http[0].host"},
		{"bare wildcard", `{"http":[{"host":"*","methods":["GET"]}]}`, "http[0].host"},
		{"tld wildcard", `{"http":[{"host":"*.com","methods":["GET"]}]}`, "http[0].host"},
		{"inner wildcard", `{"http":[{"host":"a.*.com","methods":["GET"]}]}`, "http[0].host"},
		{"unicode host", `{"http":[{"host":"bücher.de","methods":["GET"]}]}`, "punycode"},
		{"bad port", `{"http":[{"host":"a.com:99999","methods":["GET"]}]}`, "bad port"},
		{"relative prefix", `{"http":[{"host":"a.com","path_prefix":"repos/","methods":["GET"]}]}`, "path_prefix"},
		{"dotdot prefix", `{"http":[{"host":"a.com","path_prefix":"/a/../b","methods":["GET"]}]}`, "path_prefix"},
		{"encoded prefix", `{"http":[{"host":"a.com","path_prefix":"/a%2f","methods":["GET"]}]}`, "path_prefix"},
		{"private disagreement", `{"http":[{"host":"a.com","methods":["GET"]},{"host":"a.com","methods":["POST"],"allow_private":true}]}`, "allow_private"},
		{"secret bad inject", `{"http":[{"host":"a.com","methods":["GET"]}],"secrets":[{"name":"k","inject":"cookie","hosts":["a.com"]}]}`, "secrets[0].inject"},
		{"secret forbidden header", `{"http":[{"host":"a.com","methods":["GET"]}],"secrets":[{"name":"k","inject":"header:Host","hosts":["a.com"]}]}`, "cannot carry"},
		{"secret host not allowlisted", `{"http":[{"host":"a.com","methods":["GET"]}],"secrets":[{"name":"k","inject":"bearer","hosts":["b.com"]}]}`, "no http entry"},
		{"secret no hosts", `{"http":[{"host":"a.com","methods":["GET"]}],"secrets":[{"name":"k","inject":"bearer"}]}`, "secrets[0].hosts"},
		{"secret bad name", `{"secrets":[{"name":"1x","inject":"bearer","hosts":["a.com"]}]}`, "secrets[0].name"},
		{"tool bad alias", `{"tools":[{"alias":"Web"}]}`, "tools[0].alias"},
		{"tool duplicate alias", `{"tools":[{"alias":"a"},{"alias":"a","tool":"b"}]}`, "listed twice"},
		{"workspace absolute", `{"workspace":{"read":["/etc"]}}`, "workspace.read[0]"},
		{"workspace dotdot", `{"workspace":{"read":["notes/../.."]}}`, "workspace.read[0]"},
		{"workspace empty", `{"workspace":{"read":[]}}`, "workspace.read"},
		{"negative limit", `{"limits":{"timeout_ms":-1}}`, "limits.timeout_ms"},
		{"negative rate", `{"rate_limit":{"calls_per_minute":-2}}`, "rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%s) = nil error", tt.in)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not mention %q", err, tt.field)
			}
		})
	}
}

const github = `{
  "http": [{"host": "api.github.com", "path_prefix": "/repos/", "methods": ["get", "POST"]}],
  "secrets": [{"name": "github_token", "inject": "bearer", "hosts": ["api.github.com"]}],
  "rate_limit": {"http_per_minute": 60}
}`

func TestAllow(t *testing.T) {
	c, err := Parse([]byte(`{"http": [
		{"host": "api.github.com", "path_prefix": "/repos/", "methods": ["GET", "POST"]},
		{"host": "*.example.com", "path_prefix": "/v1", "methods": ["GET"]},
		{"host": "plain.test", "methods": ["GET"], "allow_http": true},
		{"host": "local.test:8080", "methods": ["GET"], "allow_http": true, "allow_private": true}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target Target
		deny   string // "" means allowed
	}{
		{"exact", Target{"https", "api.github.com", 443, "/repos/a/b/issues", "GET"}, ""},
		{"method", Target{"https", "api.github.com", 443, "/repos/a", "DELETE"}, "method DELETE"},
		{"outside prefix", Target{"https", "api.github.com", 443, "/user", "GET"}, "outside the allowed prefix"},
		{"prefix itself without slash", Target{"https", "api.github.com", 443, "/repos", "GET"}, "outside"},
		{"http refused", Target{"http", "api.github.com", 80, "/repos/a", "GET"}, "https only"},
		{"other port", Target{"https", "api.github.com", 8443, "/repos/a", "GET"}, "not on the tool's allowlist"},
		{"subdomain", Target{"https", "a.example.com", 443, "/v1/x", "GET"}, ""},
		{"deep subdomain", Target{"https", "a.b.example.com", 443, "/v1", "GET"}, ""},
		{"apex not matched by wildcard", Target{"https", "example.com", 443, "/v1", "GET"}, "not on the tool's allowlist"},
		{"suffix trick", Target{"https", "evilexample.com", 443, "/v1", "GET"}, "not on the tool's allowlist"},
		{"segment prefix", Target{"https", "a.example.com", 443, "/v10", "GET"}, "outside"},
		{"allow_http", Target{"http", "plain.test", 80, "/", "GET"}, ""},
		{"explicit port", Target{"http", "local.test", 8080, "/x", "GET"}, ""},
		{"explicit port required", Target{"http", "local.test", 80, "/x", "GET"}, "not on the tool's allowlist"},
		{"unlisted", Target{"https", "evil.test", 443, "/", "GET"}, "not on the tool's allowlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := c.Allow(tt.target)
			if tt.deny == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if e.Host == "" {
					t.Fatal("no endpoint returned")
				}
				return
			}
			var d *Denial
			if !errors.As(err, &d) || !strings.Contains(d.Reason, tt.deny) {
				t.Fatalf("err = %v, want denial containing %q", err, tt.deny)
			}
		})
	}
}

func TestSecretsWorkspaceToolsAndDescribe(t *testing.T) {
	c, err := Parse([]byte(`{
	  "http": [{"host": "api.github.com", "path_prefix": "/repos/", "methods": ["get", "POST"]}, {"host": "*.svc.test", "methods": ["GET"]}],
	  "secrets": [{"name": "github_token", "inject": "bearer", "hosts": ["api.github.com"]},
	              {"name": "svc_key", "inject": "header:X-Api-Key", "hosts": ["a.svc.test"]}],
	  "tools": [{"alias": "fetch", "tool": "web_fetch"}, {"alias": "time"}],
	  "workspace": {"read": ["notes/", "TODO.md"]},
	  "rate_limit": {"http_per_minute": 60},
	  "limits": {"timeout_ms": 20000}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP[0].Methods[0] != "GET" {
		t.Fatalf("methods not upper-cased: %v", c.HTTP[0].Methods)
	}
	if s := c.SecretsFor("api.github.com", 443, "https"); len(s) != 1 || s[0].Name != "github_token" {
		t.Fatalf("SecretsFor github = %+v", s)
	}
	if s := c.SecretsFor("b.svc.test", 443, "https"); len(s) != 0 {
		t.Fatalf("secret scoped to a.svc.test offered to b.svc.test: %+v", s)
	}
	if s := c.SecretsFor("api.github.com", 8443, "https"); len(s) != 0 {
		t.Fatalf("secret offered on another port: %+v", s)
	}
	for path, want := range map[string]bool{"notes/a.md": true, "notes": false, "TODO.md": true, "TODO.md.bak": false, "SOUL.md": false} {
		if got := c.WorkspaceAllows(path); got != want {
			t.Errorf("WorkspaceAllows(%q) = %v, want %v", path, got, want)
		}
	}
	if tool, ok := c.ToolFor("fetch"); !ok || tool != "web_fetch" {
		t.Fatalf("ToolFor(fetch) = %q %v", tool, ok)
	}
	if tool, ok := c.ToolFor("time"); !ok || tool != "time" {
		t.Fatalf("ToolFor(time) = %q %v", tool, ok)
	}
	if _, ok := c.ToolFor("web_fetch"); ok {
		t.Fatal("a tool name that is not an alias resolved")
	}
	desc := strings.Join(c.Describe(), "\n")
	for _, want := range []string{"HTTPS GET, POST to api.github.com under /repos/", "github_token, injected by the host as Authorization: Bearer, only to api.github.com",
		"header X-Api-Key", "may invoke web_fetch (as fetch)", "under notes/, TODO.md", "60 HTTP requests per minute", "timeout_ms=20000", "untrusted content"} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
}

func TestNormalizeHostPattern(t *testing.T) {
	for in, want := range map[string]string{
		"API.GitHub.com.": "api.github.com",
		"*.Example.com":   "*.example.com",
		"127.0.0.1:8080":  "127.0.0.1:8080",
		"[::1]:9000":      "[::1]:9000",
		"[0:0::1]":        "[::1]",
	} {
		got, err := NormalizeHostPattern(in)
		if err != nil || got != want {
			t.Errorf("NormalizeHostPattern(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "::1", "*.1.2.3.4", "a..b", "-a.com", "a.com:0", "a.com:08"} {
		if got, err := NormalizeHostPattern(bad); err == nil {
			t.Errorf("NormalizeHostPattern(%q) = %q, want error", bad, got)
		}
	}
	c, err := Parse([]byte(github))
	if err != nil || len(c.Secrets) != 1 {
		t.Fatalf("github capabilities: %v", err)
	}
}
