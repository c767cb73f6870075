package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// slashPrefix marks a SentMessage that answered a slash command.
const slashPrefix = "slash:"

// Send delivers a reply, a notice, or the first text of a streamed answer:
// to a slash command through its response_url, otherwise with
// chat.postMessage in the conversation's thread. Typing and status events
// are not shown on Slack.
func (c *Channel) Send(ctx context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	if msg.Kind == engine.KindTyping || msg.Kind == engine.KindStatus {
		return engine.SentMessage{}, nil
	}
	if strings.TrimSpace(msg.Text) == "" {
		return engine.SentMessage{}, errors.New("slack: nothing to send (empty text)")
	}
	if key, t := c.slashFor(msg); t != nil {
		sent := engine.SentMessage{ID: slashPrefix + key}
		if msg.Kind == engine.KindDelta && !msg.Final {
			// A response_url cannot be edited in place; the answer goes out
			// whole when it is final.
			return sent, nil
		}
		return sent, c.respond(ctx, t, msg.Text)
	}
	chunks := c.splitMarkdown(msg.Text)
	var ids []string
	for i, chunk := range chunks {
		ts, err := c.post(ctx, msg.To.Conversation, msg.To.Thread, chunk)
		if err != nil {
			if i == 0 {
				return engine.SentMessage{}, err
			}
			return engine.SentMessage{ID: msg.To.Conversation + ":" + ids[0]}, fmt.Errorf("slack: part %d of %d: %w", i+1, len(chunks), err)
		}
		ids = append(ids, ts)
	}
	sent := engine.SentMessage{ID: msg.To.Conversation + ":" + ids[0]}
	if msg.Kind == engine.KindDelta && !msg.Final {
		c.streams.Begin(sent.ID, ids, chunks)
	}
	return sent, nil
}

// Edit updates a streamed answer with chat.update, at most once per
// EditInterval until the final edit; text past the length limit continues
// in new messages in the same thread.
func (c *Channel) Edit(ctx context.Context, sent engine.SentMessage, msg engine.Outbound) error {
	final := msg.Final || msg.Kind == engine.KindReply || msg.Kind == engine.KindNotice
	if strings.TrimSpace(msg.Text) == "" {
		return nil
	}
	if key, ok := strings.CutPrefix(sent.ID, slashPrefix); ok {
		if !final {
			return nil
		}
		t := c.slashTarget(key)
		if t == nil {
			return fmt.Errorf("slack: the slash command %q has expired", key)
		}
		return c.respond(ctx, t, msg.Text)
	}
	channel, first, ok := strings.Cut(sent.ID, ":")
	if !ok || channel == "" || first == "" {
		return fmt.Errorf("slack: cannot edit %q: not a message this channel sent", sent.ID)
	}
	thread := msg.To.Thread
	ops := channelkit.EditOps{
		Post: func(ctx context.Context, chunk string) (string, error) { return c.post(ctx, channel, thread, chunk) },
		Edit: func(ctx context.Context, ts, chunk string) error { return c.update(ctx, channel, ts, chunk) },
	}
	return c.streams.Update(ctx, sent.ID, first, c.splitMarkdown(msg.Text), final, ops)
}

// slashFor finds the slash command an outbound answers, by the
// response_url in its Meta or by the command's message id.
func (c *Channel) slashFor(msg engine.Outbound) (string, *slashTarget) {
	key := msg.To.ReplyTo
	if t := c.slashTarget(key); t != nil {
		return key, t
	}
	if u := msg.Meta["response_url"]; u != "" {
		t := &slashTarget{responseURL: u, responseType: msg.Meta["response_type"], channel: msg.To.Conversation, user: msg.Meta["user"]}
		if t.responseType == "" {
			t.responseType = c.cfg.SlashVisibility
		}
		c.mu.Lock()
		if key == "" {
			key = u
		}
		t.expires = c.clock.Now().Add(slashTTL)
		c.slash[key] = t
		c.mu.Unlock()
		return key, t
	}
	return "", nil
}

func (c *Channel) slashTarget(key string) *slashTarget {
	if key == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slash[key]
}

// respond answers a slash command: through its response_url while Slack
// accepts it (30 minutes, 5 answers), then with chat.postEphemeral or
// chat.postMessage.
func (c *Channel) respond(ctx context.Context, t *slashTarget, text string) error {
	for _, chunk := range c.splitMarkdown(text) {
		c.mu.Lock()
		useURL := t.uses < slashUses && c.clock.Now().Before(t.expires)
		if useURL {
			t.uses++
		}
		c.mu.Unlock()
		var err error
		switch {
		case useURL:
			err = c.pacer.Do(ctx, t.channel, func(ctx context.Context) error {
				_, _, err := c.api.PostMessageContext(ctx, t.channel,
					slack.MsgOptionResponseURL(t.responseURL, t.responseType),
					slack.MsgOptionText(RenderMrkdwn(chunk), false))
				return classify(err)
			})
		case t.responseType == Ephemeral:
			err = c.pacer.Do(ctx, t.channel, func(ctx context.Context) error {
				_, err := c.api.PostEphemeralContext(ctx, t.channel, t.user, slack.MsgOptionText(RenderMrkdwn(chunk), false))
				return classify(err)
			})
		default:
			_, err = c.post(ctx, t.channel, "", chunk)
		}
		if err != nil {
			c.health.Error(err)
			return fmt.Errorf("slack: answering the slash command: %w", err)
		}
		c.health.Outbound()
	}
	return nil
}

// post sends one Markdown chunk with chat.postMessage and returns its ts.
func (c *Channel) post(ctx context.Context, channel, thread, md string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(RenderMrkdwn(md), false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	var ts string
	err := c.pacer.Do(ctx, channel, func(ctx context.Context) error {
		var err error
		_, ts, err = c.api.PostMessageContext(ctx, channel, opts...)
		return classify(err)
	})
	if err != nil {
		c.health.Error(err)
		return "", fmt.Errorf("slack: chat.postMessage: %w", err)
	}
	c.health.Outbound()
	return ts, nil
}

func (c *Channel) update(ctx context.Context, channel, ts, md string) error {
	err := c.pacer.Do(ctx, channel, func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(RenderMrkdwn(md), false))
		return classify(err)
	})
	if err != nil {
		c.health.Error(err)
		return fmt.Errorf("slack: chat.update: %w", err)
	}
	c.health.Outbound()
	return nil
}

// classify maps slack-go's rate-limit and server errors to
// channelkit.RetryError.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &channelkit.RetryError{Status: http.StatusTooManyRequests, RetryAfter: rl.RetryAfter, Err: err}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Retryable() {
		return &channelkit.RetryError{Status: sc.Code, Err: err}
	}
	return err
}
