package engine

import (
	"context"
	"time"
)

// Channel is the one interface every adapter implements, native or WASM.
// Optional abilities (editing for streaming, typing indicators, reporting
// health) are separate small interfaces that embed Channel; the engine asks
// for them with a type assertion. Static facts sit in Capabilities.
type Channel interface {
	// Name is the channel's configured name ("telegram", "repl", ...). It is
	// the Channel field of every Inbound it produces.
	Name() string
	// Capabilities describes the platform's static limits and formats.
	Capabilities() Capabilities
	// Run connects to the platform and feeds inbound events to sink until
	// ctx is cancelled. It returns nil on cancellation and an error when the
	// channel cannot run (bad credentials, port in use).
	Run(ctx context.Context, sink Sink) error
	// Send delivers a reply or notice (and, where supported, status lines).
	// The adapter formats and splits Text for its platform. The returned
	// SentMessage identifies what was posted, for later edits.
	Send(ctx context.Context, msg Outbound) (SentMessage, error)
}

// SentMessage identifies a message a channel posted.
type SentMessage struct {
	ID string `json:"id,omitempty"`
}

// Editor is a channel that can edit a message it posted; the engine streams
// long answers to it by editing one message at most every
// Capabilities.EditInterval: the first piece arrives as Send with
// KindDelta (the adapter posts a message and returns its id), later pieces
// as Edit with KindDelta, and the answer ends with Edit carrying the
// KindReply (or, on failure, KindNotice) with the full text. An answer
// longer than the platform limit is split by the adapter: the edited
// message takes the first part and the rest is sent as new messages.
type Editor interface {
	Channel
	Edit(ctx context.Context, sent SentMessage, msg Outbound) error
}

// Streamer is a channel that shows streamed text as it arrives (a terminal);
// it receives every KindDelta event.
type Streamer interface {
	Channel
	Stream(ctx context.Context, msg Outbound) error
}

// Typer is a channel that can show a typing indicator.
type Typer interface {
	Channel
	Typing(ctx context.Context, to Address) error
}

// HealthReporter is a channel that reports its connection state.
type HealthReporter interface {
	Channel
	Health() ChannelHealth
}

// Capabilities are a channel's static facts.
type Capabilities struct {
	// MaxMessageLen is the platform limit in characters (0: unlimited).
	MaxMessageLen int
	// Format names the markup the adapter renders: "markdown", "plain",
	// "telegram-html", "slack-mrkdwn", "matrix-html".
	Format string
	// Threads is true when replies can go into a thread.
	Threads bool
	// EditInterval is the minimum time between edits of one message when
	// streaming; zero means the channel does not want edits.
	EditInterval time.Duration
	// Groups is true when the platform has group conversations, where the
	// bot answers only when mentioned unless configured otherwise.
	Groups bool
}

// ChannelHealth is a snapshot of a channel's connection.
type ChannelHealth struct {
	State        string    `json:"state"` // starting, connected, reconnecting, stalled, stopped, failed
	LastInbound  time.Time `json:"last_inbound,omitzero"`
	LastOutbound time.Time `json:"last_outbound,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	Restarts     int       `json:"restarts,omitempty"`
}

// Sink is how an adapter hands inbound messages to the engine. Accept
// returns only after the message is persisted (or recognised as a
// duplicate), so an adapter acknowledges the platform only after Accept
// returns without error.
type Sink interface {
	Accept(ctx context.Context, in Inbound) (Receipt, error)
}

// ReceiptStatus says what the engine did with an inbound message.
type ReceiptStatus string

// Receipt statuses.
const (
	// Queued: persisted and handed to the conversation's actor.
	Queued ReceiptStatus = "queued"
	// Duplicate: this channel and message id were accepted before.
	Duplicate ReceiptStatus = "duplicate"
	// Ignored: a group message without a mention, or an empty event.
	Ignored ReceiptStatus = "ignored"
	// PairingRequired: an unknown sender; a pairing notice was sent.
	PairingRequired ReceiptStatus = "pairing_required"
	// Denied: a sender who may not use the bot and gets no pairing code
	// (too many pending codes, or the channel does not allow pairing).
	Denied ReceiptStatus = "denied"
	// Handled: a control command (/stop) acted on at once.
	Handled ReceiptStatus = "handled"
)

// Receipt is the engine's answer to Accept.
type Receipt struct {
	Status ReceiptStatus `json:"status"`
	// ID is the engine's id of the stored inbound message (zero when the
	// message was not stored).
	ID int64 `json:"id,omitempty"`
	// MessageID is the platform id, assigned by the bus when the adapter
	// gave none.
	MessageID string `json:"message_id,omitempty"`
	// UserID is the Hearth user the sender resolved to, if any.
	UserID string `json:"user_id,omitempty"`
}
