package openaiapi

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

func TestAuthentication(t *testing.T) {
	h := start(t, Options{})
	revoked, rec := h.tokens.add("u2")
	h.tokens.revoke(rec.ID, time.Now())
	unknown, _ := engine.NewAPIToken("u1", "never stored")
	cases := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"basic scheme", "Basic " + h.token},
		{"no scheme", h.token},
		{"malformed token", "Bearer hth_short"},
		{"foreign token", "Bearer sk-proj-" + strings.Repeat("a", 48)},
		{"unknown token", "Bearer " + unknown},
		{"revoked token", "Bearer " + revoked},
		{"token with a changed character", "Bearer " + h.token[:len(h.token)-1] + flip(h.token[len(h.token)-1])},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []struct{ method, path, body string }{
				{http.MethodPost, "/v1/chat/completions", `{"model":"hearth","messages":[{"role":"user","content":"hi"}]}`},
				{http.MethodGet, "/v1/models", ""},
				{http.MethodGet, "/v1/models/hearth", ""},
			} {
				header := map[string]string{}
				if tc.header != "" {
					header["Authorization"] = tc.header
				}
				status, m := h.raw(t, route.method, route.path, []byte(route.body), header)
				if status != http.StatusUnauthorized {
					t.Fatalf("%s %s: status %d: %v", route.method, route.path, status, m)
				}
				if code := errorField(t, m, "code"); code != codeInvalidAPIKey {
					t.Fatalf("code %v", code)
				}
			}
		})
	}
	if n := len(h.sink.inbound()); n != 0 {
		t.Fatalf("%d unauthenticated requests reached the engine", n)
	}
	// The SDK sees the 401 as an API error.
	_, err := h.client(revoked).Chat.Completions.New(t.Context(), userParams("hi"))
	if e := sdkError(t, err); e.StatusCode != http.StatusUnauthorized || e.Code != codeInvalidAPIKey {
		t.Fatalf("SDK error %d %q", e.StatusCode, e.Code)
	}
	// A valid token still works, and a lowercase scheme is accepted.
	status, _ := h.raw(t, http.MethodGet, "/v1/models", nil, map[string]string{"Authorization": "bearer " + h.token})
	if status != http.StatusOK {
		t.Fatalf("valid token: %d", status)
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestTokenStoreDown(t *testing.T) {
	h := start(t, Options{})
	h.tokens.err = errors.New("database is locked")
	status, m := h.raw(t, http.MethodGet, "/v1/models", nil, h.bearer())
	if status != http.StatusServiceUnavailable || errorField(t, m, "type") != typeServer {
		t.Fatalf("status %d %v", status, m)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLastUseIsRecordedAtMostOnceAMinute(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	h := start(t, Options{Now: clock.now})
	get := func() {
		t.Helper()
		if status, m := h.raw(t, http.MethodGet, "/v1/models", nil, h.bearer()); status != http.StatusOK {
			t.Fatalf("status %d %v", status, m)
		}
	}
	get()
	get()
	if n := h.tokens.touchCount(); n != 1 {
		t.Fatalf("%d touches after two requests in the same instant, want 1", n)
	}
	clock.advance(59 * time.Second)
	get()
	if n := h.tokens.touchCount(); n != 1 {
		t.Fatalf("%d touches within a minute, want 1", n)
	}
	clock.advance(time.Second)
	get()
	if n := h.tokens.touchCount(); n != 2 {
		t.Fatalf("%d touches after a minute, want 2", n)
	}
}

func TestModels(t *testing.T) {
	h := start(t, Options{Model: "hearth-home"})
	c := h.client(h.token)
	page, err := c.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "hearth-home" || page.Data[0].Object != "model" || page.Data[0].OwnedBy != "hearth" || page.Data[0].Created == 0 {
		t.Fatalf("models %s", page.RawJSON())
	}
	m, err := c.Models.Get(t.Context(), "hearth-home")
	if err != nil || m.ID != "hearth-home" {
		t.Fatalf("get: %v %+v", err, m)
	}
	_, err = c.Models.Get(t.Context(), "gpt-4o")
	if e := sdkError(t, err); e.StatusCode != http.StatusNotFound || e.Code != codeModelNotFound {
		t.Fatalf("unknown model: %d %q", e.StatusCode, e.Code)
	}
	// A completion must name the configured model.
	p := userParams("hi")
	p.Model = "hearth-home"
	if _, err := c.Chat.Completions.New(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

func TestOptions(t *testing.T) {
	tokens, ids := newFakeTokens(), newFakeIdentities()
	cases := []struct {
		name string
		opts Options
		want string // "" for success
	}{
		{"defaults", Options{Tokens: tokens, Identities: ids}, ""},
		{"localhost", Options{Listen: "localhost:0", Tokens: tokens, Identities: ids}, ""},
		{"ipv6 loopback", Options{Listen: "[::1]:0", Tokens: tokens, Identities: ids}, ""},
		{"every interface", Options{Listen: ":8790", Tokens: tokens, Identities: ids}, "non-loopback"},
		{"a public address", Options{Listen: "192.0.2.7:8790", Tokens: tokens, Identities: ids}, "non-loopback"},
		{"a public address, allowed", Options{Listen: "0.0.0.0:8790", AllowNonLoopback: true, Tokens: tokens, Identities: ids}, ""},
		{"bad address", Options{Listen: "nowhere", Tokens: tokens, Identities: ids}, "listen address"},
		{"no token store", Options{Identities: ids}, "no token store"},
		{"no identity store", Options{Tokens: tokens}, "no identity store"},
		{"negative timeout", Options{ReplyTimeout: -time.Second, Tokens: tokens, Identities: ids}, "reply timeout"},
		{"negative body limit", Options{MaxBodyBytes: -1, Tokens: tokens, Identities: ids}, "max body bytes"},
		{"model with spaces around", Options{Model: " hearth", Tokens: tokens, Identities: ids}, "model name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if s.Name() != DefaultName || s.opts.Model == "" || s.opts.ReplyTimeout != DefaultReplyTimeout || s.opts.MaxBodyBytes != DefaultMaxBodyBytes {
					t.Fatalf("defaults not filled: %+v", s.opts)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestHealthAndCapabilities(t *testing.T) {
	h := start(t, Options{})
	kittest.Eventually(t, "connected", func() bool { return h.s.Health().State == "connected" })
	if _, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("hi")); err != nil {
		t.Fatal(err)
	}
	hl := h.s.Health()
	if hl.LastInbound.IsZero() || hl.LastOutbound.IsZero() {
		t.Fatalf("health %+v", hl)
	}
	if c := h.s.Capabilities(); c.Format != "markdown" || c.EditInterval != 0 || c.MaxMessageLen != 0 {
		t.Fatalf("capabilities %+v", c)
	}
}
