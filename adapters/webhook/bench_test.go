package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// instantSink answers inside Accept, before it returns, like an engine
// whose turn finishes at once.
type instantSink struct{ w *Server }

func (s instantSink) Accept(ctx context.Context, in engine.Inbound) (engine.Receipt, error) {
	s.w.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "ok", Final: true})
	return engine.Receipt{Status: engine.Queued, ID: 1}, nil
}

// BenchmarkRoundTrip measures one authenticated POST /v1/messages answered
// synchronously over real HTTP on loopback, with an instant sink.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []struct {
		name string
		auth func(*http.Request, []byte)
	}{{"bearer", bearer(testToken)}, {"hmac", signed()}} {
		b.Run(mode.name, func(b *testing.B) {
			w, err := New(Options{Listen: "127.0.0.1:0", Token: testToken, Secret: testSecret})
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Listen(); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, instantSink{w}) }()
			defer func() { cancel(); <-done }()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			url := "http://" + w.Addr() + "/v1/messages"
			body := []byte(`{"user":"alice","text":"hello there"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				mode.auth(req, body)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
