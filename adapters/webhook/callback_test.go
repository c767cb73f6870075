package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// callbackServer records deliveries, checks their signature independently
// of the package's Verify, and fails the first `fail` attempts with status.
type callbackServer struct {
	*httptest.Server
	mu        sync.Mutex
	attempts  int
	events    []CallbackEvent
	delivery  []string
	badSig    int
	fail      int
	status    int
	delivered chan struct{}
}

func newCallbackServer(t *testing.T, fail, status int) *callbackServer {
	cs := &callbackServer{fail: fail, status: status, delivered: make(chan struct{}, 16)}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
		cs.mu.Lock()
		defer cs.mu.Unlock()
		cs.attempts++
		cs.delivery = append(cs.delivery, r.Header.Get(HeaderDelivery))
		if !hmac.Equal([]byte(r.Header.Get(HeaderSignature)), []byte(hmacHeader(testSecret, ts, body))) ||
			time.Since(time.Unix(ts, 0)) > time.Minute {
			cs.badSig++
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		if cs.attempts <= cs.fail {
			rw.WriteHeader(cs.status)
			return
		}
		var ev CallbackEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("callback body: %v", err)
		}
		cs.events = append(cs.events, ev)
		cs.delivered <- struct{}{}
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *callbackServer) snapshot() (attempts, badSig int, events []CallbackEvent, delivery []string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.attempts, cs.badSig, append([]CallbackEvent(nil), cs.events...), append([]string(nil), cs.delivery...)
}

func callbackOptions() Options {
	return Options{AllowLoopbackCallbacks: true, CallbackBackoff: time.Millisecond, CallbackAttempts: 4, CallbackTimeout: 5 * time.Second}
}

func TestAsyncCallbackIsSignedAndRetried(t *testing.T) {
	cs := newCallbackServer(t, 2, http.StatusInternalServerError)
	sink := newFakeSink()
	h := start(t, callbackOptions(), sink)
	body := mustJSON(t, map[string]string{"user": "alice", "text": "hi", "id": "a1", "conversation": "c", "callback_url": cs.URL + "/hook"})
	code, resp := h.post(t, context.Background(), body, signed())
	if code != http.StatusAccepted || resp["status"] != "queued" || resp["id"] != "a1" || resp["reply"] != nil {
		t.Fatalf("async request: %d %v", code, resp)
	}
	if err := <-sink.sendErrs; err != nil {
		t.Fatalf("Send: %v", err)
	}
	attempts, badSig, events, delivery := cs.snapshot()
	if attempts != 3 || badSig != 0 || len(events) != 1 {
		t.Fatalf("attempts %d, bad signatures %d, events %d; want 3, 0, 1", attempts, badSig, len(events))
	}
	want := CallbackEvent{ID: "a1", User: "alice", Conversation: "c", Kind: "reply", Text: "echo: hi", Final: true, Delivery: "hearth-out-1001"}
	if events[0] != want {
		t.Fatalf("event = %+v\nwant    %+v", events[0], want)
	}
	for _, d := range delivery {
		if d != want.Delivery {
			t.Fatalf("delivery keys %q differ across attempts", delivery)
		}
	}
	if in := sink.inbound()[0]; in.Meta[metaCallbck] != cs.URL+"/hook" {
		t.Fatalf("callback URL not kept with the message: %v", in.Meta)
	}
	if h.w.callbacks.get(messageID("alice", "a1")) != "" {
		t.Fatal("callback URL still remembered after the final reply")
	}
}

func TestCallbackFailureIsBoundedAndReported(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		wantAttempts int
	}{
		{"server errors retried up to the bound", http.StatusBadGateway, 4},
		{"rate limit retried", http.StatusTooManyRequests, 4},
		{"client error not retried", http.StatusBadRequest, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := newCallbackServer(t, 100, tc.status)
			sink := newFakeSink()
			h := start(t, callbackOptions(), sink)
			body := mustJSON(t, map[string]string{"user": "u", "text": "x", "callback_url": cs.URL})
			if code, resp := h.post(t, context.Background(), body, bearer(testToken)); code != http.StatusAccepted {
				t.Fatalf("async request: %d %v", code, resp)
			}
			err := <-sink.sendErrs
			if err == nil || !strings.Contains(err.Error(), "status "+strconv.Itoa(tc.status)) {
				t.Fatalf("Send error = %v", err)
			}
			if attempts, _, _, _ := cs.snapshot(); attempts != tc.wantAttempts {
				t.Fatalf("attempts = %d, want %d", attempts, tc.wantAttempts)
			}
			if h.w.Health().LastError == "" {
				t.Fatal("callback failure not reported in health")
			}
		})
	}
}

func TestCallbackFoundInStoreAfterRestart(t *testing.T) {
	cs := newCallbackServer(t, 0, 0)
	opts := callbackOptions()
	opts.Secret = testSecret
	opts.LookupInbound = func(_ context.Context, id int64) (engine.Inbound, error) {
		if id != 77 {
			return engine.Inbound{}, engine.ErrNotFound
		}
		return engine.Inbound{Channel: "webhook", Meta: map[string]string{metaCallbck: cs.URL}}, nil
	}
	w, err := New(opts) // a fresh process: nothing remembered
	if err != nil {
		t.Fatal(err)
	}
	to := engine.Address{Channel: "webhook", Conversation: "bob", ReplyTo: messageID("bob", "b7")}
	if _, err := w.Send(context.Background(), engine.Outbound{ID: 9, Kind: engine.KindReply, To: to, Text: "late", Final: true, InboundID: 77}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, _, events, _ := cs.snapshot()
	if len(events) != 1 || events[0].ID != "b7" || events[0].Text != "late" {
		t.Fatalf("events = %+v", events)
	}
	// A synchronous message (no callback stored) that nobody waits for.
	if _, err := w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: to, Text: "x", InboundID: 78}); err != nil {
		t.Fatalf("Send for a departed synchronous client: %v", err)
	}
	lookupErr := errors.New("store down")
	w.opts.LookupInbound = func(context.Context, int64) (engine.Inbound, error) { return engine.Inbound{}, lookupErr }
	if _, err := w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: to, InboundID: 79}); !errors.Is(err, lookupErr) {
		t.Fatalf("Send with a failing store = %v, want the store error (kept in the outbox)", err)
	}
}

func TestDefaultCallbackForProactiveMessages(t *testing.T) {
	cs := newCallbackServer(t, 0, 0)
	opts := callbackOptions()
	opts.Secret = testSecret
	opts.DefaultCallbackURL = cs.URL + "/proactive"
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Send(context.Background(), engine.Outbound{ID: 3, Kind: engine.KindNotice, To: engine.Address{Channel: "webhook", Conversation: "alice"}, Text: "Reminder"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, _, events, _ := cs.snapshot()
	if len(events) != 1 || events[0].Kind != "notice" || events[0].Conversation != "alice" || events[0].ID != "" {
		t.Fatalf("events = %+v", events)
	}
}

func TestCheckCallbackURL(t *testing.T) {
	hosts := []string{"hooks.example.com", "api.example.org:8443", "*.corp.example", "10.0.0.5", "::1"}
	tests := []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.example.com/x", false, true},
		{"http://HOOKS.example.com:9000/x", false, true},
		{"https://hooks.example.com.evil.net/x", false, false},
		{"https://api.example.org:8443/cb", false, true},
		{"https://api.example.org/cb", false, false},
		{"https://a.corp.example/cb", false, true},
		{"https://corp.example/cb", false, false},
		{"https://evilcorp.example/cb", false, false},
		{"http://10.0.0.5/cb", false, true},
		{"http://[::1]:8080/cb", false, true},
		{"http://127.0.0.1:9/cb", false, false},
		{"http://127.0.0.1:9/cb", true, true},
		{"http://localhost/cb", true, true},
		{"https://user:pw@hooks.example.com/x", false, false},
		{"ftp://hooks.example.com/x", false, false},
		{"hooks.example.com/x", false, false},
		{"https:///x", false, false},
	}
	for _, tc := range tests {
		_, err := checkCallbackURL(tc.url, hosts, tc.loopback)
		if (err == nil) != tc.ok {
			t.Errorf("checkCallbackURL(%q, loopback=%v) = %v, want ok=%v", tc.url, tc.loopback, err, tc.ok)
		}
	}
	if _, err := checkCallbackURL("https://hooks.example.com/x", nil, false); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("empty allowlist: %v", err)
	}
}

func TestCallbackRedirectIsNotFollowed(t *testing.T) {
	target := newCallbackServer(t, 0, 0)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	opts := callbackOptions()
	opts.Secret = testSecret
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w.callbacks.put("m", redirect.URL)
	_, err = w.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{ReplyTo: "m"}, Final: true})
	if err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Fatalf("Send through a redirect = %v, want a refused delivery", err)
	}
	if attempts, _, _, _ := target.snapshot(); attempts != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestAsyncPairingNoticeGoesToTheCallback(t *testing.T) {
	cs := newCallbackServer(t, 0, 0)
	sink := newFakeSink()
	sendErr := make(chan error, 1)
	var h *harness
	sink.receipt = func(in engine.Inbound, id int64) engine.Receipt {
		go func() {
			_, err := h.w.Send(context.Background(), engine.Outbound{ID: 4, Kind: engine.KindNotice, To: in.ReplyAddress(), Text: "code WXYZ6789", Final: true})
			sendErr <- err
		}()
		return engine.Receipt{Status: engine.PairingRequired}
	}
	h = start(t, callbackOptions(), sink)
	body := mustJSON(t, map[string]string{"user": "stranger", "text": "hi", "id": "p1", "callback_url": cs.URL})
	code, resp := h.post(t, context.Background(), body, signed())
	if code != http.StatusAccepted || resp["status"] != "pairing_required" || resp["notices"] != nil {
		t.Fatalf("async pairing: %d %v", code, resp)
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, _, events, _ := cs.snapshot()
	if len(events) != 1 || events[0].Kind != "notice" || events[0].Text != "code WXYZ6789" || events[0].ID != "p1" || events[0].User != "stranger" {
		t.Fatalf("events = %+v", events)
	}
	if h.w.callbacks.get(messageID("stranger", "p1")) != "" {
		t.Fatal("callback URL still remembered after the final notice")
	}
}

func TestDeniedAsyncRequestForgetsItsCallback(t *testing.T) {
	sink := newFakeSink()
	sink.receipt = func(engine.Inbound, int64) engine.Receipt { return engine.Receipt{Status: engine.Denied} }
	h := start(t, callbackOptions(), sink)
	body := mustJSON(t, map[string]string{"user": "x", "text": "hi", "id": "d1", "callback_url": "http://127.0.0.1:9/cb"})
	if code, _ := h.post(t, context.Background(), body, signed()); code != http.StatusForbidden {
		t.Fatalf("code = %d", code)
	}
	if h.w.callbacks.get(messageID("x", "d1")) != "" {
		t.Fatal("a denied request's callback URL is still remembered")
	}
}
