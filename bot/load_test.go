package bot

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/internal/fakellm"
)

// TestThousandConcurrentSessions sends three messages in each of 1,000
// sessions at once through the webhook (asynchronous mode) with a model
// that answers instantly, and checks that every message is answered
// exactly once, in order within its session.
func TestThousandConcurrentSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const sessions, per = 1000, 3
	var (
		mu  sync.Mutex
		got = map[string][]string{} // user -> reply texts in arrival order
		all sync.WaitGroup
	)
	all.Add(sessions * per)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev webhook.CallbackEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("callback body %q: %v", raw, err)
			return
		}
		mu.Lock()
		got[ev.User] = append(got[ev.User], ev.Text)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		all.Done()
	}))
	defer cb.Close()

	llm := fakellm.NewOpenAI(t)
	users := make([]string, sessions)
	for i := range users {
		users[i] = fmt.Sprintf("user%04d", i)
	}
	r := startServe(t, loadConfig(t, llm.BaseURL(),
		"HEARTH_CHANNELS__WEBHOOK__ALLOWLIST="+strings.Join(users, ","),
		"HEARTH_CHANNELS__WEBHOOK__ALLOW_LOOPBACK_CALLBACKS=true",
		"HEARTH_AGENT__MAX_PARALLEL=16",
	))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: time.Minute}
	start := time.Now()
	var senders sync.WaitGroup
	for _, u := range users {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for i := range per {
				code, _ := post(t, client, r.url, webhook.MessageRequest{
					User: u, ID: fmt.Sprint(i), Text: fmt.Sprintf("%s m%d", u, i), CallbackURL: cb.URL,
				}, "bearer")
				if code != http.StatusAccepted {
					t.Errorf("%s message %d: status %d", u, i, code)
				}
			}
		}()
	}
	senders.Wait()
	done := make(chan struct{})
	go func() { all.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		mu.Lock()
		t.Fatalf("only %d of %d sessions fully answered", len(got), sessions)
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	for _, u := range users {
		want := []string{}
		for i := range per {
			want = append(want, fmt.Sprintf("echo: %s m%d", u, i))
		}
		if fmt.Sprint(got[u]) != fmt.Sprint(want) {
			t.Fatalf("%s got %q, want %q", u, got[u], want)
		}
	}
	if n := llm.Count(); n != sessions*per {
		t.Fatalf("model called %d times for %d messages", n, sessions*per)
	}
	t.Logf("%d messages in %d sessions answered in %s", sessions*per, sessions, elapsed)
}
