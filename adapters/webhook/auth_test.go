package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAuthenticationFailures(t *testing.T) {
	h := start(t, Options{}, nil)
	body := []byte(`{"user":"alice","text":"hi"}`)
	now := time.Now()
	tests := []struct {
		name string
		auth func(*http.Request, []byte)
		want string
	}{
		{"unsigned", noAuth, "missing credentials"},
		{"wrong bearer", bearer("not-the-token-at-all"), "invalid bearer token"},
		{"basic auth", func(r *http.Request, _ []byte) { r.SetBasicAuth("u", testToken) }, "invalid bearer token"},
		{"bad signature", signedAt("another-secret-0123456", now), "invalid signature"},
		{"stale timestamp", signedAt(testSecret, now.Add(-6*time.Minute)), "outside the accepted window"},
		{"future timestamp", signedAt(testSecret, now.Add(6*time.Minute)), "outside the accepted window"},
		{"signature over another body", func(r *http.Request, _ []byte) {
			signedAt(testSecret, now)(r, []byte(`{"user":"alice","text":"other"}`))
		}, "invalid signature"},
		{"timestamp not a number", func(r *http.Request, b []byte) {
			signed()(r, b)
			r.Header.Set(HeaderTimestamp, "yesterday")
		}, "unix seconds"},
		{"signature without prefix", func(r *http.Request, b []byte) {
			signed()(r, b)
			r.Header.Set(HeaderSignature, strings.TrimPrefix(r.Header.Get(HeaderSignature), "sha256="))
		}, "invalid signature"},
		{"signature without timestamp", func(r *http.Request, b []byte) {
			signed()(r, b)
			r.Header.Del(HeaderTimestamp)
		}, "missing credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := h.post(t, context.Background(), body, tc.auth)
			msg, _ := resp["error"].(string)
			if code != http.StatusUnauthorized || !strings.Contains(msg, tc.want) {
				t.Fatalf("got %d %v, want 401 naming %q", code, resp, tc.want)
			}
		})
	}
	if n := len(h.sink.inbound()); n != 0 {
		t.Fatalf("%d unauthenticated messages reached the engine", n)
	}
	// Within the window the signature is accepted.
	if code, _ := h.post(t, context.Background(), body, signedAt(testSecret, now.Add(-4*time.Minute))); code != http.StatusOK {
		t.Fatalf("4-minute-old signature: %d", code)
	}
}

func TestSignedRequestsNeedASecret(t *testing.T) {
	h := start(t, Options{Token: testToken}, nil)
	code, resp := h.post(t, context.Background(), []byte(`{"user":"a","text":"b"}`), signed())
	if code != http.StatusUnauthorized || !strings.Contains(resp["error"].(string), "not enabled") {
		t.Fatalf("got %d %v", code, resp)
	}
}

func TestBadRequests(t *testing.T) {
	h := start(t, Options{MaxBodyBytes: 256}, nil)
	tests := []struct {
		name     string
		body     string
		ctype    string
		wantCode int
		want     string
	}{
		{"too large", `{"user":"a","text":"` + strings.Repeat("x", 300) + `"}`, "", 413, "too large"},
		{"empty body", "", "", 400, "empty body"},
		{"malformed", `{"user":"a","text":}`, "", 400, "malformed JSON at byte"},
		{"truncated", `{"user":"a","text":"hi"`, "", 400, "malformed JSON"},
		{"trailing data", `{"user":"a","text":"hi"} {}`, "", 400, "unexpected data after the object"},
		{"not an object", `["a"]`, "", 400, "body must be a JSON object"},
		{"invalid UTF-8", "{\"user\":\"a\",\"text\":\"\xff\xfe\"}", "", 400, "not valid UTF-8"},
		{"unknown field", `{"user":"a","text":"hi","txet":"x"}`, "", 400, `unknown field "txet"`},
		{"wrong type", `{"user":"a","text":42}`, "", 400, `field "text" must be a string`},
		{"missing user", `{"text":"hi"}`, "", 400, `"user" is required`},
		{"empty text", `{"user":"a","text":""}`, "", 400, `"text" is empty`},
		{"blank text", `{"user":"a","text":" \n\t"}`, "", 400, `"text" is empty`},
		{"NUL in text", `{"user":"a","text":"a\u0000b"}`, "", 400, `"text" contains a NUL`},
		{"control character", `{"user":"a\u001b[2J","text":"hi"}`, "", 400, `"user" contains control characters`},
		{"long id", `{"user":"a","text":"hi","id":"` + strings.Repeat("i", 129) + `"}`, "", 400, `"id" is longer than 128`},
		{"form body", `user=a&text=hi`, "application/x-www-form-urlencoded", 415, "Content-Type must be application/json"},
		{"callback not allowed", `{"user":"a","text":"hi","callback_url":"https://evil.example/x"}`, "", 400, "no callback hosts are configured"},
		{"callback scheme", `{"user":"a","text":"hi","callback_url":"file:///etc/passwd"}`, "", 400, "scheme must be http or https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.base+"/v1/messages", bytes.NewReader([]byte(tc.body)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got errorResponse
			if err := jsonDecode(resp, &got); err != nil {
				t.Fatalf("error body: %v", err)
			}
			if resp.StatusCode != tc.wantCode || !strings.Contains(got.Error, tc.want) {
				t.Fatalf("got %d %q, want %d naming %q", resp.StatusCode, got.Error, tc.wantCode, tc.want)
			}
		})
	}
	if n := len(h.sink.inbound()); n != 0 {
		t.Fatalf("%d bad requests reached the engine", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := start(t, Options{}, nil)
	resp, err := http.Get(h.base + "/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/messages = %d", resp.StatusCode)
	}
}

func TestNewRefusesUnsafeConfig(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // "" means accepted
	}{
		{"no credentials", Options{}, "no token or secret"},
		{"no credentials on all interfaces", Options{Listen: "0.0.0.0:8787"}, "non-loopback"},
		{"no credentials, empty host", Options{Listen: ":8787"}, "non-loopback"},
		{"no credentials, public IPv6", Options{Listen: "[::]:8787"}, "non-loopback"},
		{"short token", Options{Token: "short"}, "token must be at least 16"},
		{"short secret", Options{Secret: "short"}, "secret must be at least 16"},
		{"bad address", Options{Token: testToken, Listen: "nowhere"}, "listen address"},
		{"negative timeout", Options{Token: testToken, ReplyTimeout: -time.Second}, "reply timeout must not be negative"},
		{"negative body limit", Options{Token: testToken, MaxBodyBytes: -1}, "max body bytes"},
		{"bad callback host", Options{Token: testToken, CallbackHosts: []string{"https://x"}}, "callback host"},
		{"default callback without secret", Options{Token: testToken, DefaultCallbackURL: "http://127.0.0.1/x", AllowLoopbackCallbacks: true}, "needs a secret"},
		{"default callback off the allowlist", Options{Secret: testSecret, DefaultCallbackURL: "https://elsewhere.example/x", CallbackHosts: []string{"hooks.example"}}, "not in the callback allowlist"},
		{"public with token", Options{Listen: "0.0.0.0:8787", Token: testToken}, ""},
		{"localhost with secret", Options{Listen: "localhost:8787", Secret: testSecret}, ""},
		{"defaults with token", Options{Token: testToken}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if w.Name() != "webhook" || w.Addr() != "" {
					t.Fatalf("name %q addr %q", w.Name(), w.Addr())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	secret := []byte(testSecret)
	now := time.Unix(1_700_000_000, 0)
	body := []byte("payload")
	ts := strconv.FormatInt(now.Unix(), 10)
	if err := Verify(secret, ts, Sign(secret, now.Unix(), body), body, now, time.Minute); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if got, want := Sign(secret, now.Unix(), body), hmacHeader(testSecret, now.Unix(), body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	tests := []struct {
		name    string
		ts, sig string
		want    error
	}{
		{"no signature", ts, "", ErrNoCredentials},
		{"not hex", ts, "sha256=zz", ErrBadSignature},
		{"stale", strconv.FormatInt(now.Unix()-61, 10), Sign(secret, now.Unix()-61, body), ErrStaleTimestamp},
		{"timestamp swapped", strconv.FormatInt(now.Unix()-1, 10), Sign(secret, now.Unix(), body), ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(secret, tc.ts, tc.sig, body, now, time.Minute); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
