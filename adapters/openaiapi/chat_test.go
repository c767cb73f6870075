package openaiapi

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

func TestCompletionThroughTheSDK(t *testing.T) {
	h := start(t, Options{})
	c := h.client(h.token)
	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("ignored: Hearth has its own persona"),
			openai.UserMessage("first question"),
			openai.AssistantMessage("an earlier answer"),
			openai.UserMessage("what is the time?"),
		},
	})
	if err != nil {
		t.Fatalf("completion: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "echo: what is the time?" ||
		resp.Choices[0].FinishReason != "stop" || resp.Choices[0].Message.Role != "assistant" {
		t.Fatalf("completion %s", resp.RawJSON())
	}
	if resp.Object != "chat.completion" || resp.Model != DefaultModel || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Fatalf("completion %s", resp.RawJSON())
	}
	u := resp.Usage
	if u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Fatalf("usage %+v", u)
	}
	// The turn's input is the last user message alone, from the token's
	// user, in the default conversation.
	got := h.sink.inbound()
	if len(got) != 1 {
		t.Fatalf("accepted %d messages", len(got))
	}
	in := got[0]
	if in.Text != "what is the time?" || in.Sender.ID != "u1" || in.Channel != "api" || in.Conversation != "api" || !in.Direct || in.MessageID == "" {
		t.Fatalf("inbound %+v", in)
	}
	if waiting(h.s) != 0 {
		t.Fatalf("%d waiters left", waiting(h.s))
	}
}

func TestIdentityLinkedToTheTokensUser(t *testing.T) {
	h := start(t, Options{})
	c := h.client(h.token)
	for range 2 {
		if _, err := c.Chat.Completions.New(t.Context(), userParams("hi")); err != nil {
			t.Fatal(err)
		}
	}
	id, err := h.ids.IdentityFor(t.Context(), "api", "u1")
	if err != nil || id.UserID != "u1" {
		t.Fatalf("identity %+v %v", id, err)
	}
	// An identity that belongs to someone else refuses the request.
	text, _ := h.tokens.add("u2")
	if err := h.ids.LinkIdentity(t.Context(), engine.Identity{Channel: "api", PlatformID: "u2", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client(text).Chat.Completions.New(t.Context(), userParams("hi"))
	if e := sdkError(t, err); e.StatusCode != http.StatusForbidden {
		t.Fatalf("conflicting identity: %d %s", e.StatusCode, e.Message)
	}
	if n := len(h.sink.inbound()); n != 2 {
		t.Fatalf("accepted %d messages, want 2", n)
	}
}

func TestConversationName(t *testing.T) {
	h := start(t, Options{})
	cases := []struct {
		name   string
		user   string
		header string
		want   string
	}{
		{"default", "", "", "api"},
		{"user field", "chat-7", "", "chat-7"},
		{"header wins", "chat-7", "work", "work"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := userParams("hello")
			if tc.user != "" {
				p.User = openai.String(tc.user)
			}
			var opts []option.RequestOption
			if tc.header != "" {
				opts = append(opts, option.WithHeader(HeaderConversation, tc.header))
			}
			if _, err := h.client(h.token, opts...).Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if got := h.sink.inbound()[i].Conversation; got != tc.want {
				t.Fatalf("conversation %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStreamingDeliversDeltasAsTheyArrive(t *testing.T) {
	h := start(t, Options{})
	release := make(chan struct{})
	h.sink.answer = func(in engine.Inbound) {
		h.sink.delta(in, "Hello")
		<-release // the client must see "Hello" before the turn goes on
		h.sink.delta(in, "Hello, wor")
		h.sink.delta(in, "Hello, world")
		h.sink.reply(in, "Hello, world!")
	}
	p := userParams("greet me")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := h.client(h.token).Chat.Completions.NewStreaming(t.Context(), p)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	var pieces []string
	finish, usage := "", int64(0)
	for stream.Next() {
		c := stream.Current()
		if !acc.AddChunk(c) {
			t.Fatalf("accumulator refused %s", c.RawJSON())
		}
		if c.Object != "chat.completion.chunk" || c.Model != DefaultModel || !strings.HasPrefix(c.ID, "chatcmpl-") {
			t.Fatalf("chunk %s", c.RawJSON())
		}
		if c.Usage.TotalTokens > 0 {
			usage = c.Usage.TotalTokens
			if len(c.Choices) != 0 {
				t.Fatalf("usage chunk with choices: %s", c.RawJSON())
			}
		}
		if len(c.Choices) == 0 {
			continue
		}
		if d := c.Choices[0].Delta.Content; d != "" {
			pieces = append(pieces, d)
			if len(pieces) == 1 {
				close(release)
			}
		}
		if f := c.Choices[0].FinishReason; f != "" {
			finish = f
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	// "Hello" came alone (the turn waited for the client to see it); the
	// rest may be coalesced into fewer chunks.
	if len(pieces) < 2 || pieces[0] != "Hello" || strings.Join(pieces, "") != "Hello, world!" {
		t.Fatalf("pieces %q", pieces)
	}
	if acc.Choices[0].Message.Content != "Hello, world!" || finish != "stop" || usage == 0 {
		t.Fatalf("content %q finish %q usage %d", acc.Choices[0].Message.Content, finish, usage)
	}
}

func TestStreamingJoinsModelCallsAndShowsTheFinalText(t *testing.T) {
	cases := []struct {
		name   string
		deltas []string
		final  string
		want   string
	}{
		{"final only", nil, "all at once", "all at once"},
		{"final equals the stream", []string{"a", "ab"}, "ab", "ab"},
		{"two model calls", []string{"Let me check.", "It is", "It is 4."}, "It is 4.", "Let me check.\n\nIt is 4."},
		{"a new call longer than the first", []string{"Hm.", "The answer is four."}, "The answer is four.", "Hm.\n\nThe answer is four."},
		{"the final text differs", []string{"key sk-123"}, "key [redacted]", "key sk-123\n\nkey [redacted]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Options{})
			h.sink.answer = func(in engine.Inbound) {
				for _, d := range tc.deltas {
					h.sink.delta(in, d)
				}
				h.sink.reply(in, tc.final)
			}
			p := userParams("q")
			acc, _, err := collect(t, h.client(h.token).Chat.Completions.NewStreaming(t.Context(), p))
			if err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != tc.want {
				t.Fatalf("content %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNonStreamingIgnoresDeltas(t *testing.T) {
	h := start(t, Options{})
	h.sink.answer = func(in engine.Inbound) {
		h.sink.delta(in, "draft")
		h.sink.reply(in, "final answer")
	}
	resp, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("q"))
	if err != nil || resp.Choices[0].Message.Content != "final answer" {
		t.Fatalf("%v %+v", err, resp)
	}
}

func TestNoticesEndTheRequest(t *testing.T) {
	h := start(t, Options{})
	h.sink.receipt = func(in engine.Inbound) engine.Receipt { return engine.Receipt{Status: engine.Handled} }
	h.sink.answer = func(in engine.Inbound) {
		_, _ = h.s.Send(context.Background(), engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: "Started a new conversation.", Final: true})
	}
	resp, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("/new"))
	if err != nil || resp.Choices[0].Message.Content != "Started a new conversation." {
		t.Fatalf("%v %+v", err, resp)
	}
}

func TestFailedTurnIsAnError(t *testing.T) {
	h := start(t, Options{})
	const msg = "I could not get an answer from the model: the provider is down."
	h.sink.answer = func(in engine.Inbound) {
		h.sink.delta(in, "partial")
		_, _ = h.s.Send(context.Background(), engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: msg, Error: true, Final: true})
	}
	_, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("q"))
	e := sdkError(t, err)
	if e.StatusCode != http.StatusInternalServerError || e.Code != codeTurnFailed || e.Message != msg || e.Type != typeServer {
		t.Fatalf("error %d %q %q %q", e.StatusCode, e.Code, e.Type, e.Message)
	}
	acc, _, err := collect(t, h.client(h.token).Chat.Completions.NewStreaming(t.Context(), userParams("q")))
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Fatalf("stream error %v", err)
	}
	if got := acc.Choices[0].Message.Content; got != "partial" {
		t.Fatalf("streamed before the failure: %q", got)
	}
}

func TestReplyTimeout(t *testing.T) {
	h := start(t, Options{ReplyTimeout: 50 * time.Millisecond})
	h.sink.answer = func(engine.Inbound) {} // the turn outlives the request
	_, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("slow"))
	if e := sdkError(t, err); e.StatusCode != http.StatusGatewayTimeout || e.Code != codeTimeout {
		t.Fatalf("timeout: %d %q", e.StatusCode, e.Code)
	}
	_, _, err = collect(t, h.client(h.token).Chat.Completions.NewStreaming(t.Context(), userParams("slow")))
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("stream timeout: %v", err)
	}
	kittest.Eventually(t, "waiters released", func() bool { return waiting(h.s) == 0 })
}

func TestKeepAliveWhileSilent(t *testing.T) {
	h := start(t, Options{KeepAlive: 5 * time.Millisecond})
	release := make(chan struct{})
	h.sink.answer = func(in engine.Inbound) {
		<-release
		h.sink.reply(in, "done")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"hearth","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	released := false
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if line == ": keep-alive" && !released {
			close(release)
			released = true
		}
		if line == "data: [DONE]" {
			break
		}
	}
	all := strings.Join(lines, "\n")
	if !released || !strings.Contains(all, `"content":"done"`) || !strings.Contains(all, `"finish_reason":"stop"`) {
		t.Fatalf("stream:\n%s", all)
	}
}

func TestClientDisconnectReleasesWaiters(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "stream"}[stream], func(t *testing.T) {
			h := start(t, Options{})
			ctx, cancel := context.WithCancel(t.Context())
			inbound := make(chan engine.Inbound, 1)
			h.sink.answer = func(in engine.Inbound) {
				h.sink.delta(in, "part")
				inbound <- in
			}
			done := make(chan error, 1)
			go func() {
				c := h.client(h.token)
				if stream {
					s := c.Chat.Completions.NewStreaming(ctx, userParams("q"))
					for s.Next() {
						if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content == "part" {
							cancel() // leave once the stream is live
						}
					}
					done <- s.Err()
					return
				}
				_, err := c.Chat.Completions.New(ctx, userParams("q"))
				done <- err
			}()
			in := <-inbound
			if !stream {
				kittest.Eventually(t, "the request to wait", func() bool { return waiting(h.s) == 1 })
				cancel()
			}
			if err := <-done; err == nil {
				t.Fatal("the cancelled request succeeded")
			}
			kittest.Eventually(t, "the waiter to be released", func() bool { return waiting(h.s) == 0 })
			// The answer that comes later is not an error: it is in the history.
			if _, err := h.s.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "late", Final: true}); err != nil {
				t.Fatalf("late answer: %v", err)
			}
			if err := h.s.Stream(context.Background(), engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: "late"}); err != nil {
				t.Fatalf("late delta: %v", err)
			}
		})
	}
}

func TestSendWithoutARequest(t *testing.T) {
	h := start(t, Options{})
	_, err := h.s.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{Channel: "api", Conversation: "api"}, Text: "routine result", Final: true})
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("send without a request: %v", err)
	}
	for _, k := range []engine.OutboundKind{engine.KindTyping, engine.KindStatus} {
		if _, err := h.s.Send(context.Background(), engine.Outbound{Kind: k, To: engine.Address{Channel: "api"}}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
}

func TestAcceptFailures(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		receipt engine.ReceiptStatus
		status  int
	}{
		{"invalid inbound", errors.Join(engine.ErrInvalidInbound, errors.New("text is 70000 bytes")), "", http.StatusBadRequest},
		{"store down", errors.New("disk full"), "", http.StatusServiceUnavailable},
		{"denied", nil, engine.Denied, http.StatusForbidden},
		{"pairing required", nil, engine.PairingRequired, http.StatusForbidden},
		{"ignored", nil, engine.Ignored, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Options{})
			h.sink.acceptErr = tc.err
			if tc.receipt != "" {
				h.sink.receipt = func(engine.Inbound) engine.Receipt { return engine.Receipt{Status: tc.receipt} }
			}
			_, err := h.client(h.token).Chat.Completions.New(t.Context(), userParams("q"))
			if e := sdkError(t, err); e.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", e.StatusCode, tc.status, e.Message)
			}
			if waiting(h.s) != 0 {
				t.Fatal("waiter left behind")
			}
		})
	}
}

func TestShutdownAnswersWaitingRequests(t *testing.T) {
	tokens, ids, sink := newFakeTokens(), newFakeIdentities(), newFakeSink()
	s, err := New(Options{Listen: "127.0.0.1:0", Tokens: tokens, Identities: ids})
	if err != nil {
		t.Fatal(err)
	}
	sink.s = s
	sink.answer = func(engine.Inbound) {}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sink) }()
	tok, _ := tokens.add("u1")
	c := openai.NewClient(option.WithBaseURL("http://"+s.Addr()+"/v1/"), option.WithAPIKey(tok), option.WithMaxRetries(0))
	res := make(chan error, 1)
	go func() {
		_, err := c.Chat.Completions.New(context.Background(), userParams("q"))
		res <- err
	}()
	<-sink.accepted
	kittest.Eventually(t, "the request to wait", func() bool { return waiting(s) == 1 })
	cancel()
	if e := sdkError(t, <-res); e.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", e.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := s.Health(); h.State != "stopped" || h.LastInbound.IsZero() {
		t.Fatalf("health %+v", h)
	}
}
