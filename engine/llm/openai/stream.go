package openai

import (
	"context"
	"errors"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// stream runs a streamed completion, calling onDelta with each piece of
// text and assembling tool calls from their fragments.
func (c *Client) stream(ctx context.Context, params openai.ChatCompletionNewParams, capt *provider.Capture, onDelta func(string)) (*engine.ChatResponse, *provider.Error) {
	s := c.svc.NewStreaming(ctx, params, option.WithMiddleware(capt.Middleware))
	defer func() { _ = s.Close() }()

	var (
		text   strings.Builder
		calls  toolCalls
		finish string
		model  string
		usage  engine.Usage
	)
	for s.Next() {
		chunk := s.Current()
		if chunk.Model != "" {
			model = chunk.Model
		}
		if chunk.Usage.PromptTokens > 0 || chunk.Usage.CompletionTokens > 0 {
			usage = engine.Usage{InputTokens: int(chunk.Usage.PromptTokens), OutputTokens: int(chunk.Usage.CompletionTokens)}
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if d := ch.Delta.Content; d != "" {
				text.WriteString(d)
				onDelta(d)
			}
			for _, tc := range ch.Delta.ToolCalls {
				calls.add(tc)
			}
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
	if err := s.Err(); err != nil {
		if st := capt.Status(); st == 0 || st >= 400 {
			return nil, provider.Classify(ctx, capt, err, c.now())
		}
		var se *ssestream.StreamError
		return nil, provider.StreamError(ctx, capt, err, errors.As(err, &se))
	}
	if finish == "" {
		if e := provider.FromContext(c.name, ctx, nil); e != nil {
			return nil, e
		}
		return nil, provider.BadResponse(c.name, "the stream ended before the model finished", nil)
	}
	msg := engine.ChatMessage{Role: engine.RoleAssistant, Content: text.String()}
	for i, tc := range calls.list {
		call, perr := c.toolCall(i, tc.id, tc.name, tc.args.String())
		if perr != nil {
			return nil, perr
		}
		msg.ToolCalls = append(msg.ToolCalls, call)
	}
	return &engine.ChatResponse{
		Message:      msg,
		Usage:        usage,
		FinishReason: finishReason(finish, len(msg.ToolCalls)),
		Model:        model,
	}, nil
}

type partialCall struct {
	index int64
	id    string
	name  string
	args  strings.Builder
}

// toolCalls assembles streamed tool-call fragments. Fragments are keyed by
// index; a fragment carrying a new id at an index already in use starts a
// new call (some servers send every call at index 0).
type toolCalls struct {
	list []*partialCall
}

func (t *toolCalls) add(f openai.ChatCompletionChunkChoiceDeltaToolCall) {
	var cur *partialCall
	for i := len(t.list) - 1; i >= 0; i-- {
		if t.list[i].index == f.Index {
			cur = t.list[i]
			break
		}
	}
	if cur == nil || (f.ID != "" && cur.id != "" && f.ID != cur.id) {
		cur = &partialCall{index: f.Index}
		t.list = append(t.list, cur)
	}
	if cur.id == "" {
		cur.id = f.ID
	}
	if cur.name == "" {
		cur.name = f.Function.Name
	}
	cur.args.WriteString(f.Function.Arguments)
}
