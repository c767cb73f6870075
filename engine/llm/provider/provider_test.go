package provider_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/llm/provider"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "12"}, 12 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"ms preferred", map[string]string{"Retry-After": "12", "retry-after-ms": "250"}, 250 * time.Millisecond},
		{"bad ms falls back", map[string]string{"Retry-After": "3", "retry-after-ms": "soon"}, 3 * time.Second},
		{"date", map[string]string{"Retry-After": "Tue, 01 Jan 2030 00:01:00 GMT"}, time.Minute},
		{"date in the past", map[string]string{"Retry-After": "Mon, 31 Dec 2029 00:00:00 GMT"}, 0},
		{"negative", map[string]string{"Retry-After": "-4"}, 0},
		{"garbage", map[string]string{"Retry-After": "later"}, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := provider.ParseRetryAfter(h, now); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFromStatus(t *testing.T) {
	tests := []struct {
		status    int
		header    map[string]string
		kind      provider.Kind
		retryable bool
		user      string
	}{
		{429, nil, provider.KindRateLimited, true, "The model provider is unavailable (429 rate limited), try again later."},
		{503, nil, provider.KindUnavailable, true, "The model provider is unavailable (503 service unavailable), try again later."},
		{529, nil, provider.KindUnavailable, true, "(529 overloaded)"},
		{408, nil, provider.KindUnavailable, true, ""},
		{401, nil, provider.KindAuth, false, "check llm.api_key"},
		{404, nil, provider.KindBadRequest, false, "(404 not found)"},
		{500, map[string]string{"x-should-retry": "false"}, provider.KindUnavailable, false, ""},
		{400, map[string]string{"x-should-retry": "true"}, provider.KindBadRequest, true, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		e := provider.FromStatus("p", tt.status, h, time.Now(), errors.New("cause with sk-secret"))
		if e.Kind != tt.kind || e.Retryable != tt.retryable || e.Status != tt.status {
			t.Errorf("%d: %+v", tt.status, e)
		}
		if !strings.Contains(e.UserMessage(), tt.user) {
			t.Errorf("%d: UserMessage %q lacks %q", tt.status, e.UserMessage(), tt.user)
		}
		if strings.Contains(e.Error(), "sk-secret") || strings.Contains(e.UserMessage(), "sk-secret") {
			t.Errorf("%d: the cause leaks into the text", tt.status)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := provider.FromStatus("openai:api.openai.com", 429, http.Header{"Retry-After": {"2"}}, time.Now(), nil)
	if got, want := e.Error(), "llm openai:api.openai.com: 429 rate limited (retry after 2s)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	b := provider.BadResponse("x", "unexpected content type \"text/html\", expected application/json", nil)
	if got := b.Error(); got != `llm x: bad response: unexpected content type "text/html", expected application/json` {
		t.Errorf("Error() = %q", got)
	}
}

func TestFromContext(t *testing.T) {
	if provider.FromContext("p", context.Background(), nil) != nil {
		t.Error("live context produced an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := provider.FromContext("p", ctx, errors.New("read: connection reset"))
	if e.Kind != provider.KindCanceled || !errors.Is(e, context.Canceled) {
		t.Errorf("%+v", e)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if e := provider.FromContext("p", ctx, nil); e.Kind != provider.KindTimeout || !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("%+v", e)
	}
}

func TestNormalizeArgs(t *testing.T) {
	tests := map[string]string{
		"":                `{}`,
		"  ":              `{}`,
		`{"a":1}`:         `{"a":1}`,
		" {\"a\":1}\n":    `{"a":1}`,
		`{"a":`:           `"{\"a\":"`,
		`[1,2]`:           `[1,2]`,
		"not json at all": `"not json at all"`,
	}
	for in, want := range tests {
		if got := string(provider.NormalizeArgs([]byte(in))); got != want {
			t.Errorf("NormalizeArgs(%q) = %s, want %s", in, got, want)
		}
	}
	if got := string(provider.ArgsObject([]byte(`[1]`))); got != `{}` {
		t.Errorf("ArgsObject([1]) = %s", got)
	}
	if got := provider.ArgsString(nil); got != "{}" {
		t.Errorf("ArgsString(nil) = %s", got)
	}
}
