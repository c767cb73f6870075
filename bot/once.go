package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// onceChannel is the channel of `hearth run -m TEXT`: it submits one
// message as the owner, prints the reply and ends.
type onceChannel struct {
	text string
	out  io.Writer

	mu     sync.Mutex
	msgID  string
	done   chan struct{}
	failed error
}

var _ engine.Channel = (*onceChannel)(nil)

// ErrNoReply: `hearth run` ended without an answer.
var ErrNoReply = errors.New("no reply")

func newOnceChannel(text string, out io.Writer) *onceChannel {
	return &onceChannel{text: text, out: out, done: make(chan struct{}), msgID: engine.NewID()}
}

func (c *onceChannel) Name() string { return cliChannel }

func (c *onceChannel) Capabilities() engine.Capabilities {
	return engine.Capabilities{Format: "markdown"}
}

// Run submits the message and waits for its final reply.
func (c *onceChannel) Run(ctx context.Context, sink engine.Sink) error {
	r, err := sink.Accept(ctx, engine.Inbound{
		Channel: cliChannel, MessageID: c.msgID, Conversation: "run",
		Sender: engine.Sender{ID: ownerID}, Direct: true, Text: c.text,
	})
	if err != nil {
		c.finish(fmt.Errorf("the message was not accepted: %w", err))
		return nil
	}
	switch r.Status {
	case engine.Queued, engine.Handled:
	default:
		c.finish(fmt.Errorf("the message was not answered (%s)", r.Status))
		return nil
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		c.finish(fmt.Errorf("%w: %w", ErrNoReply, ctx.Err()))
	}
	return nil
}

// Send prints the final reply to this run's message.
func (c *onceChannel) Send(_ context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	if msg.To.ReplyTo != c.msgID {
		return engine.SentMessage{}, errors.New("not addressed to this run")
	}
	if msg.Kind != engine.KindReply && msg.Kind != engine.KindNotice {
		return engine.SentMessage{}, nil
	}
	if _, err := fmt.Fprintln(c.out, msg.Text); err != nil {
		return engine.SentMessage{}, err
	}
	if msg.Final {
		var err error
		if msg.Error {
			err = errors.New("the turn failed")
		}
		c.finish(err)
	}
	return engine.SentMessage{}, nil
}

func (c *onceChannel) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	c.failed = err
	close(c.done)
}

func (c *onceChannel) result() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return c.failed
	default:
		return ErrNoReply
	}
}
