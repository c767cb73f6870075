package engine

import "time"

// Address says where a message came from or must go: a channel adapter, a
// conversation on that platform (chat, room, channel or DM), an optional
// thread (Telegram forum topic, Slack thread ts, Matrix thread root) and an
// optional platform message id to reply to.
type Address struct {
	Channel      string `json:"channel"`
	Conversation string `json:"conversation"`
	Thread       string `json:"thread,omitempty"`
	ReplyTo      string `json:"reply_to,omitempty"`
}

// Key is the stable identity of the conversation the address names; it
// leaves out ReplyTo, which changes with every message.
func (a Address) Key() string {
	return a.Channel + "\x1f" + a.Conversation + "\x1f" + a.Thread
}

// Sender is the platform identity of whoever wrote an inbound message.
type Sender struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
}

// Attachment is a file that came with an inbound message. Adapters store the
// bytes (workspace or temp) and describe them here; Text holds extracted text
// when the adapter could produce it.
type Attachment struct {
	Kind     string `json:"kind"` // photo, document, voice, file
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Path     string `json:"path,omitempty"` // workspace path once stored
	Text     string `json:"text,omitempty"`
}

// Inbound is one platform event normalized by an adapter. MessageID together
// with Channel is the deduplication key: a redelivered event with the same
// pair is recognised and not answered twice. An adapter that has no platform
// id leaves it empty and the bus assigns one.
type Inbound struct {
	Channel      string            `json:"channel"`
	MessageID    string            `json:"message_id"`
	Conversation string            `json:"conversation"`
	Thread       string            `json:"thread,omitempty"`
	Sender       Sender            `json:"sender"`
	Direct       bool              `json:"direct"`
	Mentioned    bool              `json:"mentioned"`
	Text         string            `json:"text"`
	Attachments  []Attachment      `json:"attachments,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
	ReceivedAt   time.Time         `json:"received_at"`
}

// ReplyAddress is where the answer to this message goes.
func (in Inbound) ReplyAddress() Address {
	return Address{Channel: in.Channel, Conversation: in.Conversation, Thread: in.Thread, ReplyTo: in.MessageID}
}

// OutboundKind distinguishes the events an adapter receives.
type OutboundKind int

// The outbound kinds. Adapters that cannot show a kind ignore it, except
// KindReply and KindNotice, which must be delivered.
const (
	// KindReply is a complete answer. With Final set it ends the turn.
	KindReply OutboundKind = iota
	// KindDelta carries streamed text: Text is everything so far, Delta the
	// newest piece. Only sent to channels that stream (see Streamer/Editor).
	KindDelta
	// KindTyping asks the platform to show that the assistant is working.
	KindTyping
	// KindStatus is a short progress line ("running tool web_fetch").
	KindStatus
	// KindNotice is a system message to the user (pairing code, approval
	// request, error) that is not part of the conversation history.
	KindNotice
)

// String names the kind for logs.
func (k OutboundKind) String() string {
	switch k {
	case KindReply:
		return "reply"
	case KindDelta:
		return "delta"
	case KindTyping:
		return "typing"
	case KindStatus:
		return "status"
	case KindNotice:
		return "notice"
	}
	return "unknown"
}

// Outbound is an event addressed to a channel. ID is the engine's outbox id
// for replies and notices (zero for transient kinds); adapters may use it as
// an idempotency key. An answer to an inbound message has To.ReplyTo equal
// to that message's MessageID (and InboundID its stored id when known) and
// carries that message's Meta (persisted with it, so platform reply data
// such as a Slack response_url survives a restart); a Final reply or notice
// ends the handling of that message.
type Outbound struct {
	ID        int64             `json:"id,omitempty"`
	Kind      OutboundKind      `json:"kind"`
	To        Address           `json:"to"`
	Text      string            `json:"text,omitempty"`
	Delta     string            `json:"delta,omitempty"`
	Final     bool              `json:"final,omitempty"`
	Error     bool              `json:"error,omitempty"`
	InboundID int64             `json:"inbound_id,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
}
