package openaiapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/engine"
)

// fakeTokens is an in-memory token store.
type fakeTokens struct {
	mu      sync.Mutex
	byHash  map[string]engine.APIToken
	touches []time.Time
	err     error // answered by every lookup when set
}

func newFakeTokens() *fakeTokens { return &fakeTokens{byHash: map[string]engine.APIToken{}} }

// add makes a token for userID and returns its text.
func (f *fakeTokens) add(userID string) (string, engine.APIToken) {
	text, rec := engine.NewAPIToken(userID, "test")
	f.mu.Lock()
	f.byHash[string(rec.Hash)] = rec
	f.mu.Unlock()
	return text, rec
}

func (f *fakeTokens) revoke(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.byHash {
		if t.ID == id {
			t.RevokedAt = at
			f.byHash[h] = t
		}
	}
}

func (f *fakeTokens) APITokenByHash(_ context.Context, hash []byte) (engine.APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return engine.APIToken{}, f.err
	}
	t, ok := f.byHash[string(hash)]
	if !ok || t.Revoked() {
		return engine.APIToken{}, engine.ErrNotFound
	}
	return t, nil
}

func (f *fakeTokens) TouchAPIToken(_ context.Context, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.byHash {
		if t.ID == id {
			t.LastUsed = at
			f.byHash[h] = t
			f.touches = append(f.touches, at)
			return nil
		}
	}
	return engine.ErrNotFound
}

func (f *fakeTokens) touchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.touches)
}

// fakeIdentities is an in-memory identity store.
type fakeIdentities struct {
	mu  sync.Mutex
	ids map[string]engine.Identity
}

func newFakeIdentities() *fakeIdentities { return &fakeIdentities{ids: map[string]engine.Identity{}} }

func (f *fakeIdentities) IdentityFor(_ context.Context, channel, platformID string) (engine.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.ids[channel+"/"+platformID]
	if !ok {
		return engine.Identity{}, engine.ErrNotFound
	}
	return id, nil
}

func (f *fakeIdentities) LinkIdentity(_ context.Context, id engine.Identity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ids[id.Channel+"/"+id.PlatformID]; ok {
		return engine.ErrConflict
	}
	f.ids[id.Channel+"/"+id.PlatformID] = id
	return nil
}

// fakeSink plays the engine: it records messages and answers each one
// in a goroutine through the channel's Stream and Send, as the bus would.
type fakeSink struct {
	s        *Server
	mu       sync.Mutex
	got      []engine.Inbound
	accepted chan engine.Inbound
	// receipt overrides the receipt (nil: Queued); acceptErr fails Accept.
	receipt   func(in engine.Inbound) engine.Receipt
	acceptErr error
	// answer runs in a goroutine for every queued message; nil echoes
	// "echo: <text>" as one final reply.
	answer func(in engine.Inbound)
}

func newFakeSink() *fakeSink { return &fakeSink{accepted: make(chan engine.Inbound, 1024)} }

func (f *fakeSink) Accept(_ context.Context, in engine.Inbound) (engine.Receipt, error) {
	if f.acceptErr != nil {
		return engine.Receipt{}, f.acceptErr
	}
	f.mu.Lock()
	f.got = append(f.got, in)
	f.mu.Unlock()
	f.accepted <- in
	r := engine.Receipt{Status: engine.Queued, ID: 1, MessageID: in.MessageID}
	if f.receipt != nil {
		r = f.receipt(in)
	}
	if r.Status != engine.Queued && r.Status != engine.Handled {
		return r, nil
	}
	answer := f.answer
	if answer == nil {
		answer = func(in engine.Inbound) { f.reply(in, "echo: "+in.Text) }
	}
	go answer(in)
	return r, nil
}

// reply sends the final reply to in.
func (f *fakeSink) reply(in engine.Inbound, text string) {
	_, _ = f.s.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: text, Final: true})
}

// delta streams the current model call's text so far.
func (f *fakeSink) delta(in engine.Inbound, text string) {
	_ = f.s.Stream(context.Background(), engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: text})
}

func (f *fakeSink) inbound() []engine.Inbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Inbound(nil), f.got...)
}

type harness struct {
	s      *Server
	base   string
	sink   *fakeSink
	tokens *fakeTokens
	ids    *fakeIdentities
	token  string // a valid token of user "u1"
}

// start runs a server on 127.0.0.1:0 with fake stores and sink; opts may
// set timeouts and the clock.
func start(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{sink: newFakeSink(), tokens: newFakeTokens(), ids: newFakeIdentities()}
	opts.Listen = "127.0.0.1:0"
	opts.Tokens, opts.Identities = h.tokens, h.ids
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	h.s, h.sink.s, h.base = s, s, "http://"+s.Addr()
	h.token, _ = h.tokens.add("u1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h.sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not stop")
		}
	})
	return h
}

// client is the real OpenAI SDK pointed at the server.
func (h *harness) client(token string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(h.base + "/v1/"), option.WithAPIKey(token), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

func userParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

// collect reads a whole stream, returning the accumulated completion, the
// number of content chunks and the stream's error.
func collect(t testing.TB, stream interface {
	Next() bool
	Current() openai.ChatCompletionChunk
	Err() error
}) (openai.ChatCompletionAccumulator, int, error) {
	t.Helper()
	var acc openai.ChatCompletionAccumulator
	pieces := 0
	for stream.Next() {
		c := stream.Current()
		if !acc.AddChunk(c) {
			t.Fatalf("the accumulator refused chunk %s", c.RawJSON())
		}
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			pieces++
		}
	}
	return acc, pieces, stream.Err()
}

// raw sends a request with a body and headers and decodes the JSON answer.
func (h *harness) raw(t testing.TB, method, path string, body []byte, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, m
}

func (h *harness) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + h.token, "Content-Type": "application/json"}
}

// errorField returns error.<name> of an error answer, or fails.
func errorField(t testing.TB, m map[string]any, name string) any {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer %v has no error object", m)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error object %v lacks %q", e, k)
		}
	}
	return e[name]
}

// sdkError unwraps the SDK's error.
func sdkError(t testing.TB, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
	}
	return e
}

func mustContain(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%q does not contain %q", got, want)
	}
}

// waiting is the number of requests registered for an answer.
func waiting(s *Server) int {
	n, _ := s.waiters.Len()
	return n
}
