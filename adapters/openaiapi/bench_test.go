package openaiapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// instantSink answers inside Accept, before it returns, like an engine
// whose turn finishes at once: three deltas and the final reply.
type instantSink struct{ s *Server }

func (k instantSink) Accept(ctx context.Context, in engine.Inbound) (engine.Receipt, error) {
	to := in.ReplyAddress()
	for _, t := range []string{"The", "The answer", "The answer is"} {
		_ = k.s.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: to, Text: t})
	}
	_, _ = k.s.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: to, Text: "The answer is 42.", Final: true})
	return engine.Receipt{Status: engine.Queued, ID: 1}, nil
}

// BenchmarkRoundTrip measures the adapter's overhead: one authenticated
// POST /v1/chat/completions over real HTTP on loopback, answered at once
// (token lookup in an in-memory store, no engine, no model).
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []struct {
		name string
		body string
	}{
		{"json", `{"model":"hearth","messages":[{"role":"user","content":"hello there"}]}`},
		{"stream", `{"model":"hearth","stream":true,"messages":[{"role":"user","content":"hello there"}]}`},
	} {
		b.Run(mode.name, func(b *testing.B) {
			tokens := newFakeTokens()
			s, err := New(Options{Listen: "127.0.0.1:0", Tokens: tokens, Identities: newFakeIdentities()})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Listen(); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx, instantSink{s}) }()
			defer func() { cancel(); <-done }()
			tok, _ := tokens.add("u1")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			url := "http://" + s.Addr() + "/v1/chat/completions"
			body := []byte(mode.body)
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte("42.")) {
					b.Fatalf("status %d: %s", resp.StatusCode, data)
				}
			}
		})
	}
}
