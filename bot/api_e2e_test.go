package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/adapters/openaiapi"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
)

// apiConfig enables only the OpenAI-compatible API, on a free port.
func apiConfig(t testing.TB, llmURL string) *config.Config {
	return loadConfig(t, llmURL,
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=false",
		"HEARTH_CHANNELS__API__ENABLED=true",
		"HEARTH_CHANNELS__API__LISTEN=127.0.0.1:0",
		"HEARTH_CHANNELS__API__REPLY_TIMEOUT=30s",
	)
}

// apiBot is a bot serving the API in the background.
type apiBot struct {
	b   *Bot
	api *openaiapi.Server
}

// startAPI builds a bot in serve mode with the API channel (built by
// buildChannels when it knows channels.api, else added here the same way)
// and runs it until the test ends.
func startAPI(t testing.TB, cfg *config.Config) *apiBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := New(ctx, cfg, Options{Mode: ModeServe})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var api *openaiapi.Server
	for _, ch := range b.channels {
		if s, ok := ch.(*openaiapi.Server); ok {
			api = s
		}
	}
	if api == nil {
		if api, err = b.newAPI(); err != nil {
			t.Fatal(err)
		}
		if err := b.Engine.AddChannel(api); err != nil {
			t.Fatal(err)
		}
		b.channels = append(b.channels, api)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("bot did not stop")
		}
		b.Close()
	})
	return &apiBot{b: b, api: api}
}

// member creates a user and an API token for them.
func (a *apiBot) member(t testing.TB, name string) (engine.User, string, engine.APIToken) {
	t.Helper()
	u := engine.User{ID: engine.NewID(), Name: name, Role: engine.RoleMember, CreatedAt: time.Now()}
	if err := a.b.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	rec, text, err := a.b.CreateAPIToken(context.Background(), name, "test")
	if err != nil {
		t.Fatal(err)
	}
	return u, text, rec
}

func (a *apiBot) client(token string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL("http://" + a.api.Addr() + "/v1/"), option.WithAPIKey(token), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

func chatParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "hearth",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

// TestAPIThroughTheEngine drives the OpenAI SDK against the API channel of
// a real bot (engine, gate, store, agent) answered by a fake model.
func TestAPIThroughTheEngine(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	a := startAPI(t, apiConfig(t, llm.BaseURL()))
	ana, tok, rec := a.member(t, "Ana")
	c := a.client(tok)

	// Non-streamed.
	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "hearth",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("an old question the client replays"),
			openai.AssistantMessage("an old answer"),
			openai.UserMessage("hello there"),
		},
	})
	if err != nil {
		t.Fatalf("completion: %v", err)
	}
	if got := resp.Choices[0].Message.Content; got != "echo: hello there" || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("completion %s", resp.RawJSON())
	}
	for _, u := range userTexts(llm) {
		if strings.Contains(u, "old question") {
			t.Fatal("the model saw the client's replayed history")
		}
	}

	// Streamed: the model's first call writes text and calls a tool; the
	// second call waits until the client has seen that text, so the
	// deltas demonstrably arrive while the turn runs.
	release := make(chan struct{})
	llm.SetResponder(fakellm.Script(
		fakellm.Reply{Text: "Let me look at the clock.", ToolCalls: []fakellm.ToolCall{{Name: "time", Args: `{}`}}},
		fakellm.Reply{Text: "It is time for tea.", Wait: release},
	))
	stream := c.Chat.Completions.NewStreaming(t.Context(), chatParams("what time is it?"))
	var acc openai.ChatCompletionAccumulator
	seen := false
	for stream.Next() {
		ch := stream.Current()
		acc.AddChunk(ch)
		if !seen && strings.Contains(acc.Choices[0].Message.Content, "Let me look at the clock.") {
			seen = true
			close(release)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if !seen || acc.Choices[0].Message.Content != "Let me look at the clock.\n\nIt is time for tea." || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("streamed %q (finish %q)", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason)
	}
	llm.SetResponder(fakellm.EchoLast())

	// Hearth keeps the history: the next turn's model call contains the
	// earlier turns of this conversation.
	if _, err := c.Chat.Completions.New(t.Context(), chatParams("and now?")); err != nil {
		t.Fatal(err)
	}
	reqs := llm.Requests()
	last := reqs[len(reqs)-1]
	var history []string
	for _, m := range last.Messages {
		history = append(history, m.Content)
	}
	joined := strings.Join(history, "|")
	mustContain(t, joined, "hello there")
	mustContain(t, joined, "It is time for tea.")

	// The identity is the token's user's, on channel "api".
	id, err := a.b.Store.IdentityFor(t.Context(), "api", ana.ID)
	if err != nil || id.UserID != ana.ID {
		t.Fatalf("identity %+v %v", id, err)
	}

	// A revoked token gets 401 and reaches nothing.
	if _, err := a.b.RevokeAPIToken(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	before := llm.Count()
	_, err = c.Chat.Completions.New(t.Context(), chatParams("am I still in?"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %v", err)
	}
	if llm.Count() != before {
		t.Fatal("a revoked token reached the model")
	}
}

// TestAPIUsersNeverShareSessions sends from two users' tokens under the
// same conversation name, concurrently: every answer goes to its own
// request, and neither user's turns see the other's messages.
func TestAPIUsersNeverShareSessions(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	a := startAPI(t, apiConfig(t, llm.BaseURL()))
	ana, anaTok, _ := a.member(t, "Ana")
	ben, benTok, _ := a.member(t, "Ben")
	users := []struct {
		u   engine.User
		tok string
	}{{ana, anaTok}, {ben, benTok}}

	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	for _, usr := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a.client(usr.tok)
			for i := range rounds {
				text := fmt.Sprintf("%s secret %d", usr.u.Name, i)
				p := chatParams(text)
				p.User = openai.String("shared")
				resp, err := c.Chat.Completions.New(context.Background(), p)
				if err != nil {
					errs <- err
					return
				}
				if got := resp.Choices[0].Message.Content; got != "echo: "+text {
					errs <- fmt.Errorf("%s got %q", usr.u.Name, got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// No model call of one user's turn contains the other user's words.
	for _, r := range llm.Requests() {
		owner := ""
		for _, m := range r.Messages {
			if m.Role != "user" {
				continue
			}
			who, _, _ := strings.Cut(m.Content, " ")
			if owner == "" {
				owner = who
			} else if who != owner {
				t.Fatalf("one model call mixes %s's and %s's messages: %+v", owner, who, r.Messages)
			}
		}
	}
	// Each user has their own session for "shared".
	for _, usr := range users {
		ss, err := a.b.Store.ListSessions(t.Context(), usr.u.ID, 10)
		if err != nil || len(ss) != 1 || ss[0].UserID != usr.u.ID || ss[0].Address.Conversation != "shared" {
			t.Fatalf("%s sessions %+v %v", usr.u.Name, ss, err)
		}
	}
}

// BenchmarkAPIRoundTrip measures one chat completion through the OpenAI
// SDK, the API channel, the engine (gate, store, agent) and a fake model
// served over HTTP on loopback, JSON and streamed. Conversations change
// every ten messages, so the history a turn carries stays short and the
// figure does not drift with b.N.
func BenchmarkAPIRoundTrip(b *testing.B) {
	llm := fakellm.NewOpenAI(b)
	a := startAPI(b, apiConfig(b, llm.BaseURL()))
	_, tok, _ := a.member(b, "Bench")
	c := a.client(tok)
	b.Run("json", func(b *testing.B) {
		p := chatParams("hello there")
		i := 0
		for b.Loop() {
			p.User = openai.String(benchConversation("json", i))
			i++
			resp, err := c.Chat.Completions.New(context.Background(), p)
			if err != nil || resp.Choices[0].Message.Content != "echo: hello there" {
				b.Fatalf("%v %v", err, resp)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		p := chatParams("hello there")
		i := 0
		for b.Loop() {
			p.User = openai.String(benchConversation("stream", i))
			i++
			s := c.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil || acc.Choices[0].Message.Content != "echo: hello there" {
				b.Fatalf("%v %+v", err, acc.Choices)
			}
		}
	})
}

// benchConversation names the conversation of the i-th benchmark message.
func benchConversation(mode string, i int) string { return fmt.Sprintf("bench-%s-%d", mode, i/10) }
