package embed_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory/embed"
)

func newClient(t *testing.T, f *fakellm.OpenAI, o embed.Options) *embed.Client {
	t.Helper()
	o.BaseURL = f.BaseURL()
	c, err := embed.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmbedBatchesInOrder(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetEmbeddingDim(24)
	c := newClient(t, f, embed.Options{Model: "fake-embed", APIKey: "k-123", BatchSize: 2})
	texts := []string{"one cat", "two dogs", "three birds", "four fish", "five"}
	vs, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vs), len(texts))
	}
	for i, text := range texts {
		want := fakellm.Vector(text, 24)
		for j := range want {
			if vs[i][j] != want[j] {
				t.Fatalf("vector %d differs from the server's at %d", i, j)
			}
		}
	}
	reqs := f.EmbedRequests()
	if len(reqs) != 3 || len(reqs[0].Inputs) != 2 || len(reqs[2].Inputs) != 1 {
		t.Fatalf("requests = %+v, want batches of 2, 2, 1", reqs)
	}
	if reqs[0].APIKey != "k-123" || reqs[0].Model != "fake-embed" || reqs[0].Dimensions != 0 {
		t.Errorf("request = %+v", reqs[0])
	}
	if c.Dimensions() != 24 || c.Model() != "fake-embed" {
		t.Errorf("learnt %s/%d, want fake-embed/24", c.Model(), c.Dimensions())
	}
	if vs, err := c.Embed(context.Background(), nil); err != nil || vs != nil {
		t.Errorf("Embed(nil) = %v, %v", vs, err)
	}
}

func TestConfiguredDimensionsAreSent(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	c := newClient(t, f, embed.Options{Model: "text-embedding-3-small", Dimensions: 8})
	sp, err := c.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sp != (engine.EmbeddingSpace{Model: "text-embedding-3-small", Dimensions: 8}) {
		t.Errorf("Probe = %+v", sp)
	}
	if got := f.EmbedRequests()[0].Dimensions; got != 8 {
		t.Errorf("dimensions parameter = %d, want 8", got)
	}
}

func TestWrongDimensionIsAClearError(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetEmbedder(func(r fakellm.EmbedRequest) fakellm.EmbedReply {
		out := make([][]float32, len(r.Inputs))
		for i, in := range r.Inputs {
			out[i] = fakellm.Vector(in, 512)
		}
		return fakellm.EmbedReply{Vectors: out}
	})
	c := newClient(t, f, embed.Options{Model: "m", Dimensions: 384})
	_, err := c.Embed(context.Background(), []string{"x"})
	if !errors.Is(err, engine.ErrDimensionMismatch) || !strings.Contains(err.Error(), "512 dimensions, expected 384") ||
		!strings.Contains(err.Error(), "embeddings.dimensions") {
		t.Fatalf("error = %v, want a dimension mismatch naming 512, 384 and the config key", err)
	}

	// A model that changes its answer's size mid-way is refused too.
	n := 16
	f.SetEmbedder(func(r fakellm.EmbedRequest) fakellm.EmbedReply {
		out := make([][]float32, len(r.Inputs))
		for i, in := range r.Inputs {
			out[i] = fakellm.Vector(in, n)
		}
		n = 32
		return fakellm.EmbedReply{Vectors: out}
	})
	c = newClient(t, f, embed.Options{Model: "m"})
	if _, err := c.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Embed(context.Background(), []string{"b"}); !errors.Is(err, engine.ErrDimensionMismatch) {
		t.Fatalf("second answer of another size: %v", err)
	}
}

func TestBadAnswers(t *testing.T) {
	tests := []struct {
		name  string
		reply fakellm.EmbedReply
		want  string
	}{
		{"server error", fakellm.EmbedReply{Status: 503}, "HTTP 503"},
		{"unauthorized", fakellm.EmbedReply{Status: 401}, "HTTP 401"},
		{"too few vectors", fakellm.EmbedReply{Vectors: [][]float32{{1, 2}}}, "1 vectors for 2 texts"},
		{"empty vector", fakellm.EmbedReply{Vectors: [][]float32{{}, {}}}, "empty vector"},
		{"not json", fakellm.EmbedReply{Raw: "<html>oops</html>", ContentType: "text/html"}, "embed:"},
		{"non-finite", fakellm.EmbedReply{Raw: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1e999]},{"object":"embedding","index":1,"embedding":[1]}],"model":"m"}`}, "embed:"},
		{"index out of range", fakellm.EmbedReply{Raw: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1]},{"object":"embedding","index":5,"embedding":[1]}],"model":"m"}`}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakellm.NewOpenAI(t)
			f.SetEmbedder(func(fakellm.EmbedRequest) fakellm.EmbedReply { return tc.reply })
			c := newClient(t, f, embed.Options{Model: "m", APIKey: "sk-secret-value"})
			vs, err := c.Embed(context.Background(), []string{"a", "b"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Embed = %v, %v; want an error containing %q", vs, err, tc.want)
			}
			if strings.Contains(err.Error(), "sk-secret-value") {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetEmbedder(func(fakellm.EmbedRequest) fakellm.EmbedReply { return fakellm.EmbedReply{Hang: true} })
	c := newClient(t, f, embed.Options{Model: "m", Timeout: 50 * time.Millisecond})
	start := time.Now()
	if _, err := c.Embed(context.Background(), []string{"a"}); err == nil {
		t.Fatal("a hanging server did not fail")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with a 50ms timeout", d)
	}
}

func TestServerDown(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	url := f.BaseURL()
	f.Close()
	c, err := embed.New(embed.Options{BaseURL: url, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Embed(context.Background(), []string{"a"}); err == nil || !strings.Contains(err.Error(), "embed: m at") {
		t.Fatalf("Embed against a closed server = %v", err)
	}
}

func TestDiscovery(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetModels("llama3.2", "nomic-embed-text:latest", "mxbai-embed-large")
	c := newClient(t, f, embed.Options{Discover: true})
	sp, err := c.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sp.Model != "nomic-embed-text:latest" || sp.Dimensions != fakellm.DefaultDimensions {
		t.Errorf("discovered %+v", sp)
	}
	if f.EmbedRequests()[0].Model != "nomic-embed-text:latest" {
		t.Errorf("embedded with %q", f.EmbedRequests()[0].Model)
	}

	f2 := fakellm.NewOpenAI(t)
	f2.SetModels("llama3.2", "qwen2.5")
	c2 := newClient(t, f2, embed.Options{Discover: true})
	if _, err := c2.Probe(context.Background()); !errors.Is(err, embed.ErrNoModel) || !strings.Contains(err.Error(), "embeddings.model") {
		t.Fatalf("Probe without an embedding model = %v, want ErrNoModel naming embeddings.model", err)
	}
	if len(f2.EmbedRequests()) != 0 {
		t.Error("embedded without a model")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := embed.New(embed.Options{}); !errors.Is(err, embed.ErrNoModel) {
		t.Errorf("New without model = %v", err)
	}
	if _, err := embed.New(embed.Options{Model: "m", Dimensions: -1}); err == nil {
		t.Error("negative dimensions accepted")
	}
}

func TestPickModel(t *testing.T) {
	for names, want := range map[string]string{
		"gpt-4o,text-embedding-3-small": "text-embedding-3-small",
		"llama3,bge-m3":                 "bge-m3",
		"all-MiniLM-L6-v2":              "all-MiniLM-L6-v2",
		"llama3,qwen":                   "",
	} {
		if got := embed.PickModel(strings.Split(names, ",")); got != want {
			t.Errorf("PickModel(%s) = %q, want %q", names, got, want)
		}
	}
}
