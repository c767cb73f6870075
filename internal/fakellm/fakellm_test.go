package fakellm_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/internal/fakellm"
)

// recorder is a testing.TB that captures Errorf instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) errors() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func post(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

func TestScriptExhaustedFailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	f := fakellm.NewOpenAI(rec)
	f.SetResponder(fakellm.Script(fakellm.Reply{Text: "only one"}))
	if res := post(t, f.BaseURL()+"/chat/completions", chatBody, nil); res.StatusCode != 200 {
		t.Fatalf("first call: %d", res.StatusCode)
	}
	res := post(t, f.BaseURL()+"/chat/completions", chatBody, nil)
	if res.StatusCode != 500 {
		t.Errorf("second call: %d, want 500", res.StatusCode)
	}
	if got := rec.errors(); !strings.Contains(got, "script exhausted: call 2, but only 1 replies were scripted") {
		t.Errorf("recorded errors = %q", got)
	}
}

func TestProtocolViolationsAnswer400AndFail(t *testing.T) {
	anthropicHeaders := map[string]string{"anthropic-version": "2023-06-01"}
	tests := []struct {
		name   string
		openai bool
		body   string
		header map[string]string
		want   string
	}{
		{name: "openai invalid json", openai: true, body: `{"model":`, want: "invalid JSON"},
		{name: "openai no model", openai: true, body: `{"messages":[{"role":"user","content":"x"}]}`, want: "model is missing"},
		{name: "openai orphan tool result", openai: true,
			body: `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"c9","content":"r"}]}`,
			want: "must answer a tool call"},
		{name: "openai unanswered tool call", openai: true,
			body: `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"t","arguments":"{}"}}]},{"role":"user","content":"y"}]}`,
			want: "have no tool result"},
		{name: "anthropic no version header", body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`,
			want: "anthropic-version"},
		{name: "anthropic roles repeat", header: anthropicHeaders,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`,
			want: "roles must alternate"},
		{name: "anthropic empty text", header: anthropicHeaders,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`,
			want: "must be non-empty"},
		{name: "anthropic text before tool result", header: anthropicHeaders,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"x","input":{}}]},` +
				`{"role":"user","content":[{"type":"text","text":"hm"},{"type":"tool_result","tool_use_id":"t1","content":"r"}]}]}`,
			want: "must come before any text"},
		{name: "anthropic missing max_tokens", header: anthropicHeaders,
			body: `{"model":"m","messages":[{"role":"user","content":"x"}]}`, want: "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			url := ""
			var count func() int
			if tt.openai {
				f := fakellm.NewOpenAI(rec)
				url, count = f.BaseURL()+"/chat/completions", f.Count
			} else {
				f := fakellm.NewAnthropic(rec)
				url, count = f.URL()+"/v1/messages", f.Count
			}
			res := post(t, url, tt.body, tt.header)
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			if got := rec.errors(); !strings.Contains(got, tt.want) {
				t.Errorf("recorded %q, want it to mention %q", got, tt.want)
			}
			if count() != 0 {
				t.Error("an invalid request was recorded")
			}
		})
	}
}

func TestWaitHoldsTheAnswer(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	gate := make(chan struct{})
	f.SetResponder(fakellm.Script(fakellm.Reply{Text: "released", Wait: gate}))
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, f.BaseURL()+"/chat/completions", strings.NewReader(chatBody))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		done <- res
	}()
	// Poll with a deadline: the request is recorded before the fake waits on the gate.
	deadline := time.Now().Add(5 * time.Second)
	for f.Count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never arrived")
		}
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("answered before the gate opened")
	default:
	}
	close(gate)
	res := <-done
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("response %v", res)
	}
	res.Body.Close()
}

func TestConcurrentRequestsAreAllRecorded(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"msg %d"}]}`, i)
			res, err := http.Post(f.BaseURL()+"/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range f.Requests() {
		seen[r.LastUser()] = true
	}
	if len(seen) != n {
		t.Errorf("recorded %d distinct requests, want %d", len(seen), n)
	}
}

func TestEmbeddingsThroughTheSDK(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetEmbeddingDim(16)
	svc := openai.NewEmbeddingService(option.WithBaseURL(f.BaseURL()), option.WithAPIKey("k"), option.WithMaxRetries(0))
	texts := []string{"the cat sat on the mat", "a cat sat on a mat", "quarterly tax report"}
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		res, err := svc.New(context.Background(), openai.EmbeddingNewParams{
			Model: "fake-embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}, EncodingFormat: format,
		})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(res.Data) != 3 {
			t.Fatalf("%s: %d vectors", format, len(res.Data))
		}
		for i, d := range res.Data {
			want := fakellm.Vector(texts[i], 16)
			if len(d.Embedding) != 16 {
				t.Fatalf("%s: dim %d", format, len(d.Embedding))
			}
			for j := range want {
				if float32(d.Embedding[j]) != want[j] {
					t.Fatalf("%s: vector %d differs at %d", format, i, j)
				}
			}
		}
	}
	res, err := svc.New(context.Background(), openai.EmbeddingNewParams{
		Model: "fake-embed", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Dimensions: openai.Int(8),
	})
	if err != nil || len(res.Data[0].Embedding) != 8 {
		t.Fatalf("dimensions parameter ignored: %v", err)
	}
	if got := f.EmbedRequests(); len(got) != 3 || got[0].APIKey != "k" || got[2].Dimensions != 8 {
		t.Errorf("recorded %+v", got)
	}
	f.SetEmbedder(func(fakellm.EmbedRequest) fakellm.EmbedReply { return fakellm.EmbedReply{Status: 503} })
	if _, err := svc.New(context.Background(), openai.EmbeddingNewParams{Model: "m", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}}); err == nil {
		t.Error("scripted 503 did not fail")
	}
}

func TestVector(t *testing.T) {
	cos := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	a := fakellm.Vector("The cat sat on the mat", 384)
	b := fakellm.Vector("the CAT sat on a mat!", 384)
	c := fakellm.Vector("quarterly tax report", 384)
	if n := cos(a, a); math.Abs(n-1) > 1e-5 {
		t.Errorf("not unit length: %v", n)
	}
	if cos(a, b) <= cos(a, c) {
		t.Errorf("similar texts not closer: %v vs %v", cos(a, b), cos(a, c))
	}
	if !bytes.Equal(fmt.Append(nil, a), fmt.Append(nil, fakellm.Vector("The cat sat on the mat", 384))) {
		t.Error("not deterministic")
	}
	if v := fakellm.Vector("", 4); len(v) != 4 {
		t.Errorf("empty text: %v", v)
	}
}

func TestCloseRefusesConnections(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.Close()
	if _, err := http.Post(f.BaseURL()+"/chat/completions", "application/json", strings.NewReader(chatBody)); err == nil {
		t.Error("a closed fake still answered")
	}
}
