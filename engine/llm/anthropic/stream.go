package anthropic

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// maxBlocks bounds the content blocks one streamed message may open.
const maxBlocks = 1024

type block struct {
	typ   string
	id    string
	name  string
	start string // tool_use input given in content_block_start
	args  strings.Builder
}

// stream runs a streamed message: text_delta pieces go to onDelta,
// input_json_delta fragments are assembled per tool_use block.
func (c *Client) stream(ctx context.Context, params anthropic.MessageNewParams, capt *provider.Capture, onDelta func(string)) (*engine.ChatResponse, *provider.Error) {
	s := c.svc.NewStreaming(ctx, params, option.WithMiddleware(capt.Middleware))
	defer func() { _ = s.Close() }()

	var (
		text    strings.Builder
		blocks  []*block
		stop    string
		stopped bool
		model   string
		usage   engine.Usage
	)
	for s.Next() {
		ev := s.Current()
		switch ev.Type {
		case "message_start":
			model = ev.Message.Model
			u := ev.Message.Usage
			usage = engine.Usage{InputTokens: int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens), OutputTokens: int(u.OutputTokens)}
		case "content_block_start":
			if ev.Index < 0 || ev.Index >= maxBlocks {
				return nil, provider.BadResponse(c.name, fmt.Sprintf("content block index %d out of range", ev.Index), nil)
			}
			for int64(len(blocks)) <= ev.Index {
				blocks = append(blocks, nil)
			}
			cb := ev.ContentBlock
			b := &block{typ: cb.Type, id: cb.ID, name: cb.Name}
			if cb.Type == "tool_use" {
				b.start = cb.JSON.Input.Raw()
			}
			blocks[ev.Index] = b
			if cb.Type == "text" && cb.Text != "" {
				text.WriteString(cb.Text)
				onDelta(cb.Text)
			}
		case "content_block_delta":
			if ev.Index < 0 || ev.Index >= int64(len(blocks)) || blocks[ev.Index] == nil {
				return nil, provider.BadResponse(c.name, fmt.Sprintf("delta for content block %d that was never started", ev.Index), nil)
			}
			b := blocks[ev.Index]
			switch ev.Delta.Type {
			case "text_delta":
				if ev.Delta.Text != "" {
					text.WriteString(ev.Delta.Text)
					onDelta(ev.Delta.Text)
				}
			case "input_json_delta":
				b.args.WriteString(ev.Delta.PartialJSON)
			}
		case "message_delta":
			if ev.Delta.StopReason != "" {
				stop = string(ev.Delta.StopReason)
			}
			if ev.Usage.OutputTokens > 0 {
				usage.OutputTokens = int(ev.Usage.OutputTokens)
			}
			if ev.Usage.InputTokens > 0 {
				usage.InputTokens = int(ev.Usage.InputTokens + ev.Usage.CacheCreationInputTokens + ev.Usage.CacheReadInputTokens)
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := s.Err(); err != nil {
		if st := capt.Status(); st == 0 || st >= 400 {
			return nil, provider.Classify(ctx, capt, err, c.now())
		}
		return nil, provider.StreamError(ctx, capt, err, isEventError(err))
	}
	if !stopped && stop == "" {
		if e := provider.FromContext(c.name, ctx, nil); e != nil {
			return nil, e
		}
		return nil, provider.BadResponse(c.name, "the stream ended before the message stopped", nil)
	}
	msg := engine.ChatMessage{Role: engine.RoleAssistant, Content: text.String()}
	for _, b := range blocks {
		if b == nil || b.typ != "tool_use" {
			continue
		}
		if b.id == "" || b.name == "" {
			return nil, provider.BadResponse(c.name, "a tool_use block has no id or name", nil)
		}
		args := b.args.String()
		if args == "" {
			args = b.start
		}
		msg.ToolCalls = append(msg.ToolCalls, engine.ToolCall{ID: b.id, Name: b.name, Arguments: provider.NormalizeArgs([]byte(args))})
	}
	return &engine.ChatResponse{
		Message:      msg,
		Usage:        usage,
		FinishReason: finishReason(stop, len(msg.ToolCalls)),
		Model:        model,
	}, nil
}

// isEventError reports whether err came from an "event: error" in the stream.
func isEventError(err error) bool {
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return true
	}
	return strings.HasPrefix(err.Error(), "received error while streaming")
}
