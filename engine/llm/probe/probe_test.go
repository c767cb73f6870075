package probe_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm"
	"github.com/hearthbot/hearth/engine/llm/probe"
	"github.com/hearthbot/hearth/internal/fakellm"
)

func addr(f *fakellm.OpenAI) string { return strings.TrimPrefix(f.URL(), "http://") }

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func TestDiscover(t *testing.T) {
	ollama := fakellm.NewOpenAI(t)
	ollama.SetModels("llama3.2:latest", "qwen2.5:7b")
	llamacpp := fakellm.NewOpenAI(t)
	llamacpp.SetModels("qwen2.5-7b-instruct-q4.gguf")
	empty := fakellm.NewOpenAI(t)
	empty.SetModels()
	down := closedAddr(t)
	other := strings.TrimPrefix(fakellm.NewAnthropic(t).URL(), "http://") // no /v1/models

	tests := []struct {
		name       string
		candidates []probe.Candidate
		base       string
		model      string
		errHas     []string
	}{
		{
			name: "ollama first",
			candidates: []probe.Candidate{
				{Name: "Ollama", Kind: probe.KindOllama, Addr: addr(ollama)},
				{Name: "llama.cpp server", Kind: probe.KindOpenAI, Addr: addr(llamacpp)},
			},
			base: "http://" + addr(ollama) + "/v1", model: "llama3.2:latest",
		},
		{
			name: "llama.cpp when ollama is down",
			candidates: []probe.Candidate{
				{Name: "Ollama", Kind: probe.KindOllama, Addr: down},
				{Name: "llama.cpp server", Kind: probe.KindOpenAI, Addr: addr(llamacpp)},
			},
			base: "http://" + addr(llamacpp) + "/v1", model: "qwen2.5-7b-instruct-q4.gguf",
		},
		{
			name: "ollama without models is skipped",
			candidates: []probe.Candidate{
				{Name: "Ollama", Kind: probe.KindOllama, Addr: addr(empty)},
				{Name: "LM Studio", Kind: probe.KindOpenAI, Addr: addr(llamacpp)},
			},
			base: "http://" + addr(llamacpp) + "/v1", model: "qwen2.5-7b-instruct-q4.gguf",
		},
		{
			name: "nothing listens",
			candidates: []probe.Candidate{
				{Name: "Ollama", Kind: probe.KindOllama, Addr: down},
				{Name: "llama.cpp server", Kind: probe.KindOpenAI, Addr: closedAddr(t)},
			},
			errHas: []string{"no local model server found", "Ollama at " + down, "llama.cpp server at"},
		},
		{
			name:       "empty ollama alone",
			candidates: []probe.Candidate{{Name: "Ollama", Kind: probe.KindOllama, Addr: addr(empty)}},
			errHas:     []string{"ollama pull"},
		},
		{
			name:       "wrong API at the address",
			candidates: []probe.Candidate{{Name: "LM Studio", Kind: probe.KindOpenAI, Addr: other}},
			errHas:     []string{"LM Studio at " + other + ": GET /v1/models answered 404"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := probe.DiscoverAt(context.Background(), nil, tt.candidates)
			if len(tt.errHas) > 0 {
				if !errors.Is(err, probe.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Provider != llm.ProviderOpenAI || cfg.BaseURL != tt.base || cfg.Model != tt.model || cfg.APIKey != "" {
				t.Errorf("cfg = %+v", cfg)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("discovered config does not validate: %v", err)
			}
		})
	}
}

func TestDiscoveredConfigAnswers(t *testing.T) {
	ollama := fakellm.NewOpenAI(t)
	cfg, err := probe.DiscoverAt(context.Background(), nil, []probe.Candidate{{Name: "Ollama", Kind: probe.KindOllama, Addr: addr(ollama)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := llm.New(cfg, nil, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{{Role: engine.RoleUser, Content: "hi"}}})
	if err != nil || resp.Message.Content != "echo: hi" {
		t.Fatalf("%v %+v", err, resp)
	}
	if got := ollama.Requests()[0].Model; got != "fake-model" {
		t.Errorf("model sent = %q", got)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	// A listener that accepts connections but never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	_, err = probe.DiscoverAt(context.Background(), nil, []probe.Candidate{{Name: "Ollama", Kind: probe.KindOllama, Addr: l.Addr().String()}})
	if !errors.Is(err, probe.ErrNotFound) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("err = %v", err)
	}
}

func TestHintNamesEveryVariable(t *testing.T) {
	h := probe.Hint()
	for _, v := range []string{"HEARTH_LLM__PROVIDER", "HEARTH_LLM__BASE_URL", "HEARTH_LLM__API_KEY", "HEARTH_LLM__MODEL", "127.0.0.1:11434", "anthropic"} {
		if !strings.Contains(h, v) {
			t.Errorf("hint does not mention %s", v)
		}
	}
}
