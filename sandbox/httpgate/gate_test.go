package httpgate_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

const secretValue = "gho_" + "S3cretTokenValue0123456789abcdefABCD"

// recorder is a fake API that remembers every request it saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body map[*http.Request][]byte
	h    http.HandlerFunc
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	if r.body == nil {
		r.body = map[*http.Request][]byte{}
	}
	r.body[req] = b
	r.mu.Unlock()
	if r.h != nil {
		r.h(w, req)
		return
	}
	_, _ = io.WriteString(w, "hello from "+req.Host+req.URL.Path)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return nil
	}
	return r.reqs[len(r.reqs)-1]
}

type fixture struct {
	net    *sandboxtest.FakeInternet
	gate   *httpgate.Gate
	policy *httpgate.Policy
	api    *recorder
	other  *recorder
	evil   *recorder
}

func newFixture(t *testing.T, capsJSON string) *fixture {
	t.Helper()
	c, err := caps.Parse([]byte(capsJSON))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{net: sandboxtest.NewFakeInternet(t), api: &recorder{}, other: &recorder{}, evil: &recorder{}}
	f.net.Serve(f.api, "api.example.com")
	f.net.Serve(f.other, "cdn.example.com")
	f.net.Serve(f.evil, "evil.test")
	det := leak.New(leak.Options{}).WithSecrets(map[string]string{"api_token": secretValue})
	f.gate = httpgate.New(f.net.GateOptions())
	t.Cleanup(f.gate.Close)
	f.policy = &httpgate.Policy{
		Caps: &c, Detector: det, MaxRequestBytes: 1 << 16, MaxResponseBytes: 1 << 16,
		Secret: func(_ context.Context, name string) (string, bool, error) {
			if name == "api_token" {
				return secretValue, true, nil
			}
			return "", false, nil
		},
	}
	return f
}

const apiCaps = `{
  "http": [
    {"host": "api.example.com", "path_prefix": "/v1/", "methods": ["GET", "POST"]},
    {"host": "cdn.example.com", "methods": ["GET"]}
  ],
  "secrets": [{"name": "api_token", "inject": "bearer", "hosts": ["api.example.com"]}]
}`

func (f *fixture) do(t *testing.T, req httpgate.Request) (httpgate.Response, []httpgate.Record, error) {
	t.Helper()
	return f.gate.Do(context.Background(), f.policy, req)
}

func wantBlocked(t *testing.T, err error, stage, contains string) {
	t.Helper()
	var be *httpgate.BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a block at %s", err, stage)
	}
	if be.Stage != stage || !strings.Contains(be.Reason, contains) {
		t.Fatalf("blocked at %s: %q; want stage %s containing %q", be.Stage, be.Reason, stage, contains)
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Fatalf("error message leaks the secret: %v", err)
	}
}

func TestAllowedRequestGetsInjectedCredential(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1") // must be ignored
	f := newFixture(t, apiCaps)
	resp, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/items?q=1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "hello from api.example.com/v1/items" {
		t.Fatalf("response %d %q", resp.Status, resp.Body)
	}
	if got := f.api.last().Header.Get("Authorization"); got != "Bearer "+secretValue {
		t.Fatalf("Authorization = %q, want the injected bearer token", got)
	}
	if len(recs) != 1 || len(recs[0].Injected) != 1 || recs[0].Injected[0] != "api_token" || recs[0].Status != 200 {
		t.Fatalf("records %+v", recs)
	}
	if strings.Contains(recs[0].URL, secretValue) {
		t.Fatal("record holds the secret")
	}
}

func TestBlockedRequestsNeverLeave(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte(secretValue))
	tests := []struct {
		name  string
		req   httpgate.Request
		stage string
		why   string
	}{
		{"host not allowlisted", httpgate.Request{Method: "GET", URL: "https://evil.test/"}, httpgate.StageAllowlist, "not on the tool's allowlist"},
		{"path outside prefix", httpgate.Request{Method: "GET", URL: "https://api.example.com/admin"}, httpgate.StageAllowlist, "outside the allowed prefix"},
		{"dotdot traversal", httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/../admin"}, httpgate.StageAllowlist, "\"/admin\" is outside"},
		{"encoded traversal", httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/%2e%2e/admin"}, httpgate.StageAllowlist, "\"/admin\" is outside"},
		{"encoded slash", httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/..%2fadmin"}, httpgate.StageURL, "encoded separator"},
		{"userinfo", httpgate.Request{Method: "GET", URL: "https://api.example.com@evil.test/v1/"}, httpgate.StageURL, "credentials in the URL"},
		{"plain http", httpgate.Request{Method: "GET", URL: "http://api.example.com/v1/x"}, httpgate.StageAllowlist, "https only"},
		{"method", httpgate.Request{Method: "DELETE", URL: "https://api.example.com/v1/x"}, httpgate.StageAllowlist, "method DELETE"},
		{"secret in query", httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x?t=" + url.QueryEscape(secretValue)}, httpgate.StageLeak, "stored_secret (api_token)"},
		{"secret in body", httpgate.Request{Method: "POST", URL: "https://api.example.com/v1/x", Body: []byte(`{"note":"` + secretValue + `"}`)}, httpgate.StageLeak, "api_token"},
		{"base64 secret in body", httpgate.Request{Method: "POST", URL: "https://api.example.com/v1/x", Body: []byte("data=" + enc)}, httpgate.StageLeak, "api_token"},
		{"secret in header", httpgate.Request{Method: "GET", URL: "https://cdn.example.com/x", Headers: map[string]string{"X-Note": secretValue}}, httpgate.StageLeak, "api_token"},
		{"credential pattern in body", httpgate.Request{Method: "POST", URL: "https://api.example.com/v1/x", Body: []byte("AKIA" + "IOSFODNN7EXAMPL1")}, httpgate.StageLeak, "aws_access_key"},
		{"override injected header", httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x", Headers: map[string]string{"Authorization": "Bearer mine"}}, httpgate.StageRequest, "set by the host for secret api_token"},
		{"host header", httpgate.Request{Method: "GET", URL: "https://cdn.example.com/x", Headers: map[string]string{"Host": "evil.test"}}, httpgate.StageRequest, "set by the host"},
		{"accept-encoding", httpgate.Request{Method: "GET", URL: "https://cdn.example.com/x", Headers: map[string]string{"Accept-Encoding": "gzip"}}, httpgate.StageRequest, "set by the host"},
		{"header injection", httpgate.Request{Method: "GET", URL: "https://cdn.example.com/x", Headers: map[string]string{"X-A": "a\r\nHost: evil"}}, httpgate.StageRequest, "CR, LF"},
		{"body too large", httpgate.Request{Method: "POST", URL: "https://api.example.com/v1/x", Body: bytes.Repeat([]byte("a"), 1<<17)}, httpgate.StageRequest, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, apiCaps)
			_, recs, err := f.do(t, tt.req)
			wantBlocked(t, err, tt.stage, tt.why)
			if n := f.api.count() + f.other.count() + f.evil.count(); n != 0 {
				t.Fatalf("a blocked request reached a server (%d requests)", n)
			}
			if len(recs) == 1 && recs[0].Blocked == "" {
				t.Fatalf("record does not say it was blocked: %+v", recs[0])
			}
		})
	}
}

func TestDNSRebindingToLoopbackIsRefused(t *testing.T) {
	f := newFixture(t, apiCaps)
	var hits int
	var mu sync.Mutex
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); hits++; mu.Unlock() })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	for _, addr := range []string{"127.0.0.1", "169.254.169.254", "10.0.0.7", "::ffff:127.0.0.1"} {
		f.net.Resolve("api.example.com", netip.MustParseAddr(addr))
		_, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		wantBlocked(t, err, httpgate.StageNetwork, "the sandbox does not connect to it")
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 || f.api.count() != 0 {
		t.Fatalf("loopback server was reached %d times", hits)
	}
}

func TestAllowPrivateReachesLoopback(t *testing.T) {
	got := &recorder{}
	srv := &http.Server{Handler: got}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	f := newFixture(t, `{"http":[{"host":"127.0.0.1:`+itoa(port)+`","methods":["GET"],"allow_http":true,"allow_private":true}]}`)
	resp, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "http://127.0.0.1:" + itoa(port) + "/ping"})
	if err != nil || resp.Status != 200 || got.count() != 1 {
		t.Fatalf("allow_private request: %v %+v, server saw %d", err, resp, got.count())
	}
	// The same address without allow_private is refused.
	f2 := newFixture(t, `{"http":[{"host":"127.0.0.1:`+itoa(port)+`","methods":["GET"],"allow_http":true}]}`)
	_, _, err = f2.do(t, httpgate.Request{Method: "GET", URL: "http://127.0.0.1:" + itoa(port) + "/ping"})
	wantBlocked(t, err, httpgate.StageNetwork, "loopback")
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRedirects(t *testing.T) {
	t.Run("to a non-allowlisted host", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.test/steal", http.StatusFound)
		}
		_, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		wantBlocked(t, err, httpgate.StageRedirect, "redirect refused")
		if f.evil.count() != 0 || len(recs) != 2 {
			t.Fatalf("evil saw %d requests; records %+v", f.evil.count(), recs)
		}
	})
	t.Run("to an allowlisted host without the credential", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://cdn.example.com/file", http.StatusFound)
		}
		resp, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		if err != nil || resp.Status != 200 || len(recs) != 2 {
			t.Fatalf("redirect: %v %+v %+v", err, resp, recs)
		}
		if auth := f.other.last().Header.Get("Authorization"); auth != "" {
			t.Fatalf("credential followed the redirect to another host: %q", auth)
		}
		if len(recs[1].Injected) != 0 {
			t.Fatalf("second hop record claims injection: %+v", recs[1])
		}
	})
	t.Run("loop", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/v1/again", http.StatusFound) }
		_, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		wantBlocked(t, err, httpgate.StageRedirect, "more than 5 redirects")
		if len(recs) != 6 {
			t.Fatalf("%d records, want 6", len(recs))
		}
	})
	t.Run("post becomes get on 303", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/form" {
				http.Redirect(w, r, "/v1/done", http.StatusSeeOther)
				return
			}
			_, _ = io.WriteString(w, r.Method)
		}
		resp, _, err := f.do(t, httpgate.Request{Method: "POST", URL: "https://api.example.com/v1/form", Body: []byte("a=1")})
		if err != nil || string(resp.Body) != "GET" {
			t.Fatalf("303: %v %q", err, resp.Body)
		}
	})
}

func TestResponses(t *testing.T) {
	t.Run("containing a stored secret is withheld", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "your token is "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
		resp, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/echo"})
		wantBlocked(t, err, httpgate.StageResponse, "api_token")
		if len(resp.Body) != 0 || !strings.Contains(recs[0].Blocked, "withheld") {
			t.Fatalf("body %q record %+v", resp.Body, recs[0])
		}
	})
	t.Run("secret in a response header is withheld", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Echo", secretValue) }
		_, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/echo"})
		wantBlocked(t, err, httpgate.StageResponse, "api_token")
	})
	t.Run("credential formats are redacted", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		key := "sk-" + "proj-" + strings.Repeat("Ab3dE", 8)
		f.api.h = func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "leaked "+key+" here") }
		resp, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		if err != nil || string(resp.Body) != "leaked [REDACTED:openai_key] here" || recs[0].Redacted == "" {
			t.Fatalf("%v %q %+v", err, resp.Body, recs)
		}
	})
	t.Run("unsolicited compression is withheld", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "br")
			_, _ = w.Write([]byte{1, 2, 3})
		}
		_, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		wantBlocked(t, err, httpgate.StageResponse, "br-encoded")
	})
	t.Run("gzip the gate asked for is decoded and scanned", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				_, _ = io.WriteString(w, "plain")
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, "zipped "+secretValue)
			_ = zw.Close()
		}
		_, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/x"})
		wantBlocked(t, err, httpgate.StageResponse, "api_token")
	})
	t.Run("oversized body is truncated", func(t *testing.T) {
		f := newFixture(t, apiCaps)
		f.api.h = func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(bytes.Repeat([]byte("x"), 1<<17)) }
		resp, _, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/v1/big"})
		if err != nil || !resp.Truncated || len(resp.Body) != 1<<16 {
			t.Fatalf("%v truncated=%v len=%d", err, resp.Truncated, len(resp.Body))
		}
	})
}

func TestQueryInjectionAndFailureMessages(t *testing.T) {
	f := newFixture(t, `{
	  "http": [{"host": "api.example.com", "methods": ["GET"]}, {"host": "down.example.com", "methods": ["GET"]}],
	  "secrets": [{"name": "api_token", "inject": "query:key", "hosts": ["api.example.com", "down.example.com"]}]
	}`)
	resp, recs, err := f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/q?city=Oslo"})
	if err != nil || resp.Status != 200 {
		t.Fatal(err)
	}
	q := f.api.last().URL.Query()
	if q.Get("key") != secretValue || q.Get("city") != "Oslo" {
		t.Fatalf("query seen by the server: %v", q)
	}
	if strings.Contains(recs[0].URL, secretValue) || strings.Contains(resp.URL, secretValue) {
		t.Fatal("the injected query credential is visible to the tool or the audit")
	}
	// The guest may not set the parameter itself.
	_, _, err = f.do(t, httpgate.Request{Method: "GET", URL: "https://api.example.com/q?key=mine"})
	wantBlocked(t, err, httpgate.StageRequest, "set by the host")

	// A connection failure must not echo the URL with the credential.
	f.net.Resolve("down.example.com", netip.MustParseAddr("203.0.113.250"))
	_, recs, err = f.do(t, httpgate.Request{Method: "GET", URL: "https://down.example.com/x"})
	var fe *httpgate.FailedError
	if !errors.As(err, &fe) || strings.Contains(fe.Reason, secretValue) || strings.Contains(recs[0].Failed, secretValue) {
		t.Fatalf("failure: %v / %+v", err, recs)
	}
}
