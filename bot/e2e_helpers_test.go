package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/internal/fakellm"
)

const (
	testToken  = "test-token-0123456789"
	testSecret = "test-secret-0123456789"
)

// loadConfig loads a configuration the way the CLI does, from environment
// variables only, on a fresh HEARTH_HOME.
func loadConfig(t testing.TB, llmURL string, extra ...string) *config.Config {
	t.Helper()
	home := t.TempDir()
	env := append([]string{
		"HEARTH_HOME=" + home,
		"HEARTH_LLM__PROVIDER=openai",
		"HEARTH_LLM__BASE_URL=" + llmURL,
		"HEARTH_LLM__MODEL=fake-model",
		"HEARTH_LLM__MAX_RETRIES=0",
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=true",
		"HEARTH_CHANNELS__WEBHOOK__LISTEN=127.0.0.1:0",
		"HEARTH_CHANNELS__WEBHOOK__TOKEN=" + testToken,
		"HEARTH_CHANNELS__WEBHOOK__HMAC_SECRET=" + testSecret,
		"HEARTH_CHANNELS__WEBHOOK__REPLY_TIMEOUT=30s",
	}, extra...)
	cfg, warnings, err := config.Load(config.LoadOptions{Environ: env, HomeDir: home})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("config warnings: %v", warnings)
	}
	return cfg
}

// running is a bot serving in the background.
type running struct {
	b    *Bot
	url  string
	done chan error
	stop context.CancelFunc
}

func startServe(t testing.TB, cfg *config.Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := New(ctx, cfg, Options{Mode: ModeServe})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &running{b: b, url: "http://" + b.WebhookAddr(), done: make(chan error, 1), stop: cancel}
	go func() { r.done <- b.Run(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("bot did not stop")
		}
		b.Close()
	})
	return r
}

// post sends a message to the webhook, signed or with the bearer token.
func post(t testing.TB, client *http.Client, base string, req webhook.MessageRequest, auth string) (int, webhook.MessageResponse) {
	t.Helper()
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, base+"/v1/messages", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	switch auth {
	case "bearer":
		hr.Header.Set("Authorization", "Bearer "+testToken)
	case "hmac":
		ts := time.Now().Unix()
		hr.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
		hr.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(testSecret), ts, body))
	}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out webhook.MessageResponse
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response %q: %v", raw, err)
		}
	}
	return resp.StatusCode, out
}

// userTexts lists every user message the fake model was ever sent.
func userTexts(f *fakellm.OpenAI) []string {
	var out []string
	for _, r := range f.Requests() {
		for _, m := range r.Messages {
			if m.Role == "user" {
				out = append(out, m.Content)
			}
		}
	}
	return out
}

func mustContain(t testing.TB, got, want string) {
	t.Helper()
	if !bytes.Contains([]byte(got), []byte(want)) {
		t.Fatalf("%q does not contain %q", got, want)
	}
}
