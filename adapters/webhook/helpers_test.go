package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

const (
	testToken  = "test-token-0123456789"
	testSecret = "test-secret-0123456789"
)

// fakeSink plays the engine: it accepts messages and answers them through
// the webhook's Send, as the bus would.
type fakeSink struct {
	w        *Server
	mu       sync.Mutex
	got      []engine.Inbound
	nextID   int64
	accepted chan engine.Inbound
	// receipt decides the receipt (nil: Queued with a fresh id).
	receipt func(in engine.Inbound, id int64) engine.Receipt
	// answer runs in a goroutine for every Queued message (nil: echo);
	// set noAnswer to stay silent.
	answer   func(in engine.Inbound, r engine.Receipt)
	noAnswer bool
	// sendErrs receives the result of every Send the default answer made.
	sendErrs chan error
}

func newFakeSink() *fakeSink {
	return &fakeSink{accepted: make(chan engine.Inbound, 1024), sendErrs: make(chan error, 1024)}
}

func (s *fakeSink) Accept(_ context.Context, in engine.Inbound) (engine.Receipt, error) {
	s.mu.Lock()
	s.got = append(s.got, in)
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	r := engine.Receipt{Status: engine.Queued, ID: id, MessageID: in.MessageID}
	if s.receipt != nil {
		r = s.receipt(in, id)
	}
	s.accepted <- in
	if r.Status != engine.Queued || s.noAnswer {
		return r, nil
	}
	if s.answer != nil {
		go s.answer(in, r)
		return r, nil
	}
	go func() {
		_, err := s.w.Send(context.Background(), engine.Outbound{
			ID: r.ID + 1000, Kind: engine.KindReply, To: in.ReplyAddress(), Text: "echo: " + in.Text, Final: true, InboundID: r.ID,
		})
		s.sendErrs <- err
	}()
	return r, nil
}

func (s *fakeSink) inbound() []engine.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Inbound(nil), s.got...)
}

type harness struct {
	w    *Server
	base string
	sink *fakeSink
	stop context.CancelFunc
	done chan error
}

// start runs a webhook on 127.0.0.1:0 with the fake sink.
func start(t testing.TB, opts Options, sink *fakeSink) *harness {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	if opts.Token == "" && opts.Secret == "" {
		opts.Token, opts.Secret = testToken, testSecret
	}
	w, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if sink == nil {
		sink = newFakeSink()
	}
	sink.w = w
	if err := w.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{w: w, base: "http://" + w.Addr(), sink: sink, stop: cancel, done: make(chan error, 1)}
	go func() { h.done <- w.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not stop")
		}
	})
	return h
}

// hmacHeader computes a signature independently of Sign.
func hmacHeader(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "." + string(body)))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// auth modes of a test request.
func bearer(tok string) func(*http.Request, []byte) {
	return func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func signedAt(secret string, at time.Time) func(*http.Request, []byte) {
	return func(r *http.Request, body []byte) {
		ts := at.Unix()
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderSignature, hmacHeader(secret, ts, body))
	}
}

func signed() func(*http.Request, []byte) { return signedAt(testSecret, time.Now()) }

func noAuth(*http.Request, []byte) {}

// post sends body to /v1/messages and returns status and decoded JSON.
func (h *harness) post(t testing.TB, ctx context.Context, body []byte, auth func(*http.Request, []byte)) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	auth(req, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("response %d is not JSON: %q", resp.StatusCode, data)
	}
	return resp.StatusCode, m
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
