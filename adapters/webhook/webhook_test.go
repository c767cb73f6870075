package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

func TestSignedRequestIsAnswered(t *testing.T) {
	h := start(t, Options{}, nil)
	body := mustJSON(t, map[string]string{"user": "alice", "name": "Alice", "text": "hi", "id": "m-1", "thread": "t1"})
	code, resp := h.post(t, context.Background(), body, signed())
	if code != http.StatusOK || resp["status"] != "answered" || resp["reply"] != "echo: hi" || resp["id"] != "m-1" {
		t.Fatalf("got %d %v", code, resp)
	}
	in := h.sink.inbound()[0]
	want := engine.Inbound{
		Channel: "webhook", MessageID: messageID("alice", "m-1"), Conversation: "alice", Thread: "t1",
		Sender: engine.Sender{ID: "alice", DisplayName: "Alice"}, Direct: true, Text: "hi",
	}
	in.ReceivedAt, in.Meta = time.Time{}, nil
	if fmt.Sprint(in) != fmt.Sprint(want) {
		t.Fatalf("inbound = %+v\nwant      %+v", in, want)
	}
}

func TestBearerRequestIsAnswered(t *testing.T) {
	h := start(t, Options{Token: testToken}, nil)
	code, resp := h.post(t, context.Background(), []byte(`{"user":"bob","conversation":"c9","text":"yo"}`), bearer(testToken))
	if code != http.StatusOK || resp["reply"] != "echo: yo" {
		t.Fatalf("got %d %v", code, resp)
	}
	if id, _ := resp["id"].(string); len(id) != 32 {
		t.Fatalf("generated id = %q", id)
	}
	if in := h.sink.inbound()[0]; in.Conversation != "c9" || in.Meta[metaClient] != resp["id"] {
		t.Fatalf("inbound = %+v", in)
	}
}

func TestReceiptStatuses(t *testing.T) {
	tests := []struct {
		name       string
		status     engine.ReceiptStatus
		notice     string // a notice the engine sends answering the message
		wantCode   int
		wantStatus string
	}{
		{"denied", engine.Denied, "", http.StatusForbidden, ""},
		{"ignored", engine.Ignored, "", http.StatusAccepted, "ignored"},
		{"handled", engine.Handled, "Stopping the current answer.", http.StatusOK, "handled"},
		{"handled, notice late", engine.Handled, "", http.StatusOK, "handled"},
		{"pairing", engine.PairingRequired, "Your pairing code is ABCD2345", http.StatusOK, "pairing_required"},
		{"pairing, notice late", engine.PairingRequired, "", http.StatusAccepted, "pairing_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newFakeSink()
			h := start(t, Options{ReplyTimeout: 100 * time.Millisecond}, sink)
			sink.receipt = func(in engine.Inbound, id int64) engine.Receipt {
				if tc.notice != "" {
					// The engine sends the notice in the background; it may
					// arrive before Accept returns, as here.
					h.w.Send(context.Background(), engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: tc.notice, Final: true})
				}
				return engine.Receipt{Status: tc.status, ID: id}
			}
			code, resp := h.post(t, context.Background(), []byte(`{"user":"eve","text":"let me in"}`), signed())
			if code != tc.wantCode {
				t.Fatalf("code = %d, want %d (%v)", code, tc.wantCode, resp)
			}
			if tc.wantStatus != "" && resp["status"] != tc.wantStatus {
				t.Fatalf("status = %v, want %s", resp["status"], tc.wantStatus)
			}
			if code >= 400 && resp["error"] == "" {
				t.Fatalf("error response without message: %v", resp)
			}
			if tc.notice != "" {
				notices, _ := resp["notices"].([]any)
				if len(notices) != 1 || notices[0] != tc.notice || resp["reply"] != nil {
					t.Fatalf("response = %v", resp)
				}
			}
		})
	}
}

func TestTimeoutThenRetryGetsStoredReply(t *testing.T) {
	var mu sync.Mutex
	stored := map[int64][]engine.Outbound{}
	sink := newFakeSink()
	sink.noAnswer = true
	byMsg := map[string]int64{}
	sink.receipt = func(in engine.Inbound, id int64) engine.Receipt {
		mu.Lock()
		defer mu.Unlock()
		if first, ok := byMsg[in.MessageID]; ok {
			return engine.Receipt{Status: engine.Duplicate, ID: first}
		}
		byMsg[in.MessageID] = id
		return engine.Receipt{Status: engine.Queued, ID: id}
	}
	replies := func(_ context.Context, id int64) ([]engine.Outbound, error) {
		mu.Lock()
		defer mu.Unlock()
		return stored[id], nil
	}
	h := start(t, Options{ReplyTimeout: 50 * time.Millisecond, Replies: replies}, sink)
	body := []byte(`{"user":"alice","text":"slow question","id":"q1"}`)

	code, resp := h.post(t, context.Background(), body, signed())
	if code != http.StatusAccepted || resp["status"] != "queued" || resp["id"] != "q1" {
		t.Fatalf("first try: %d %v", code, resp)
	}
	// The engine answers later; the client was gone, so Send is no error.
	in := h.sink.inbound()[0]
	reply := engine.Outbound{ID: 5, Kind: engine.KindReply, To: in.ReplyAddress(), Text: "slow answer", Final: true, InboundID: 1}
	mu.Lock()
	stored[1] = []engine.Outbound{reply}
	mu.Unlock()
	if _, err := h.w.Send(context.Background(), reply); err != nil {
		t.Fatalf("Send to a departed client: %v", err)
	}

	code, resp = h.post(t, context.Background(), body, signed())
	if code != http.StatusOK || resp["status"] != "answered" || resp["reply"] != "slow answer" {
		t.Fatalf("retry: %d %v", code, resp)
	}
	if got := h.sink.inbound(); got[1].MessageID != got[0].MessageID {
		t.Fatalf("retry used another message id: %q vs %q", got[1].MessageID, got[0].MessageID)
	}
}

func TestDuplicateWaitsForTheRunningAnswer(t *testing.T) {
	sink := newFakeSink()
	release := make(chan struct{})
	var h *harness
	sink.receipt = func(in engine.Inbound, id int64) engine.Receipt {
		if len(sink.inbound()) > 1 {
			return engine.Receipt{Status: engine.Duplicate, ID: 1}
		}
		return engine.Receipt{Status: engine.Queued, ID: id}
	}
	sink.answer = func(in engine.Inbound, r engine.Receipt) {
		<-release
		h.w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "done", Final: true, InboundID: r.ID})
	}
	h = start(t, Options{ReplyTimeout: 10 * time.Second, Replies: func(context.Context, int64) ([]engine.Outbound, error) { return nil, nil }}, sink)
	body := []byte(`{"user":"alice","text":"q","id":"same"}`)

	results := make(chan map[string]any, 2)
	for range 2 {
		go func() {
			_, resp := h.post(t, context.Background(), body, signed())
			results <- resp
		}()
	}
	<-sink.accepted
	<-sink.accepted
	close(release)
	for range 2 {
		if resp := <-results; resp["reply"] != "done" {
			t.Fatalf("response = %v", resp)
		}
	}
}

func TestConcurrentRequestsGetTheirOwnReplies(t *testing.T) {
	const n = 40
	sink := newFakeSink()
	var mu sync.Mutex
	var pending []engine.Inbound
	allIn := make(chan struct{})
	sink.answer = func(in engine.Inbound, _ engine.Receipt) {
		mu.Lock()
		pending = append(pending, in)
		full := len(pending) == n
		mu.Unlock()
		if full {
			close(allIn)
		}
	}
	h := start(t, Options{ReplyTimeout: 20 * time.Second}, sink)
	go func() {
		<-allIn
		// Answer in reverse order of arrival, from many goroutines.
		for i := n - 1; i >= 0; i-- {
			in := pending[i]
			go h.w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "answer to " + in.Text, Final: true})
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			text := fmt.Sprintf("question %d", i)
			body := mustJSON(t, map[string]string{"user": fmt.Sprintf("user%d", i%7), "text": text})
			code, resp := h.post(t, context.Background(), body, bearer(testToken))
			if code != http.StatusOK || resp["reply"] != "answer to "+text {
				errs <- fmt.Errorf("%s: got %d %v", text, code, resp)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m, b := h.w.waiters.Len(); m != 0 || b != 0 {
		t.Fatalf("registry keeps %d message and %d inbound entries after all requests", m, b)
	}
}

func TestClientDisconnectDoesNotLeak(t *testing.T) {
	sink := newFakeSink()
	sink.noAnswer = true
	h := start(t, Options{ReplyTimeout: time.Minute}, sink)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/messages", strings.NewReader(`{"user":"a","text":"x"}`))
		req.Header.Set("Authorization", "Bearer "+testToken)
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-sink.accepted
	if m, _ := h.w.waiters.Len(); m != 1 {
		t.Fatalf("registry has %d entries while the request waits, want 1", m)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error = %v", err)
	}
	kittest.Eventually(t, "the registry to empty after the client left", func() bool {
		m, b := h.w.waiters.Len()
		return m == 0 && b == 0
	})
}

func TestShutdownAnswersWaitingRequestsWith202(t *testing.T) {
	sink := newFakeSink()
	sink.noAnswer = true
	h := start(t, Options{ReplyTimeout: time.Minute}, sink)
	type res struct {
		code int
		resp map[string]any
	}
	got := make(chan res, 1)
	go func() {
		code, resp := h.post(t, context.Background(), []byte(`{"user":"a","text":"x","id":"k"}`), signed())
		got <- res{code, resp}
	}()
	<-sink.accepted
	h.stop()
	r := <-got
	if r.code != http.StatusAccepted || r.resp["status"] != "queued" || r.resp["id"] != "k" {
		t.Fatalf("during shutdown: %d %v", r.code, r.resp)
	}
	if err := <-h.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil // for the cleanup
	if st := h.w.Health().State; st != "stopped" {
		t.Fatalf("state after Run = %q", st)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	w, err := New(Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	w.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not running") {
		t.Fatalf("readyz before Run: %d %s", rec.Code, rec.Body)
	}

	var readyErr error
	var mu sync.Mutex
	h := start(t, Options{Ready: func(context.Context) error { mu.Lock(); defer mu.Unlock(); return readyErr }}, nil)
	get := func(path string) (int, string) {
		resp, err := http.Get(h.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	mu.Lock()
	readyErr = errors.New("store unreachable")
	mu.Unlock()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "store unreachable") {
		t.Fatalf("readyz with a failing check: %d %s", code, body)
	}
	if st := h.w.Health().State; st != "connected" {
		t.Fatalf("health state = %q", st)
	}
}

func TestHandleAddsAuthenticatedRoutes(t *testing.T) {
	w, err := New(Options{Token: testToken, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	w.Handle("POST /v1/extra", w.Authenticated(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rw.Write(append([]byte("got "), b...))
	})))
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	do := func(auth func(*http.Request, []byte)) (int, string) {
		body := []byte("payload")
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/extra", strings.NewReader(string(body)))
		auth(req, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(noAuth); code != http.StatusUnauthorized {
		t.Fatalf("unauthenticated: %d", code)
	}
	if code, body := do(signed()); code != 200 || body != "got payload" {
		t.Fatalf("signed: %d %q", code, body)
	}
	if code, body := do(bearer(testToken)); code != 200 || body != "got payload" {
		t.Fatalf("bearer: %d %q", code, body)
	}
}

func TestMessageIDs(t *testing.T) {
	tests := []struct{ user, id string }{
		{"alice", "1"}, {"bob", "1"}, {"a:b", "c"}, {"a", "b:c"}, {"", "x"}, {"ü", ""},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		m := messageID(tc.user, tc.id)
		if seen[m] {
			t.Fatalf("collision on %q", m)
		}
		seen[m] = true
		u, id, ok := splitMessageID(m)
		if !ok || u != tc.user || id != tc.id {
			t.Fatalf("split(%q) = %q %q %v", m, u, id, ok)
		}
	}
	for _, bad := range []string{"", "x", "3:ab", "2:abc", "-1:a:b", "9:a:b"} {
		if _, _, ok := splitMessageID(bad); ok {
			t.Fatalf("split(%q) accepted", bad)
		}
	}
}

func TestOtherKindsAreIgnored(t *testing.T) {
	w, err := New(Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []engine.OutboundKind{engine.KindDelta, engine.KindTyping, engine.KindStatus} {
		if _, err := w.Send(context.Background(), engine.Outbound{Kind: k}); err != nil {
			t.Fatalf("%v: %v", k, err)
		}
	}
	if _, err := w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, Text: "proactive"}); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("proactive message without a default callback: %v, want ErrNoRoute", err)
	}
}

func TestFailedTurnIsReported(t *testing.T) {
	sink := newFakeSink()
	var h *harness
	sink.answer = func(in engine.Inbound, r engine.Receipt) {
		h.w.Send(context.Background(), engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: "The model is unreachable.", Final: true, Error: true, InboundID: r.ID})
	}
	h = start(t, Options{}, sink)
	code, resp := h.post(t, context.Background(), []byte(`{"user":"a","text":"hi"}`), signed())
	notices, _ := resp["notices"].([]any)
	if code != http.StatusOK || resp["status"] != "notified" || resp["failed"] != true || len(notices) != 1 || notices[0] != "The model is unreachable." {
		t.Fatalf("got %d %v", code, resp)
	}
}
