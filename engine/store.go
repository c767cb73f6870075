package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors stores return; match them with errors.Is.
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key already exists.
	ErrConflict = errors.New("conflict")
	// ErrInvalidInbound: an adapter handed the engine a malformed message
	// (bad UTF-8, too long, no sender); adapters answer it as a client
	// error (HTTP 400).
	ErrInvalidInbound = errors.New("invalid inbound message")
)

// Store is everything the engine persists. Each backend (memory/sqlite,
// memory/postgres) implements it and passes memory/storetest.
type Store interface {
	UserStore
	PairingStore
	SessionStore
	MessageStore
	AuditStore
	SecretStore
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// UserStore keeps users and their channel identities.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	ListUsers(ctx context.Context) ([]User, error)
	// LinkIdentity attaches a platform identity to a user; ErrConflict when
	// the identity belongs to someone already.
	LinkIdentity(ctx context.Context, id Identity) error
	// IdentityFor finds who a platform sender is; ErrNotFound if unknown.
	IdentityFor(ctx context.Context, channel, platformID string) (Identity, error)
	ListIdentities(ctx context.Context, userID string) ([]Identity, error)
}

// PairingStore keeps pairing requests of unknown senders.
type PairingStore interface {
	// CreatePairing stores a new pending request; ErrConflict when the
	// code is taken.
	CreatePairing(ctx context.Context, p PairingRequest) error
	// PendingPairingFor returns the sender's unexpired pending request.
	PendingPairingFor(ctx context.Context, channel, platformID string, now time.Time) (PairingRequest, error)
	// CountPendingPairings counts unexpired pending requests on a channel.
	CountPendingPairings(ctx context.Context, channel string, now time.Time) (int, error)
	// ListPendingPairings lists unexpired pending requests, oldest first.
	ListPendingPairings(ctx context.Context, now time.Time) ([]PairingRequest, error)
	// ResolvePairing moves an unexpired pending request to approved or
	// denied, setting UserID; ErrNotFound when no such pending code.
	ResolvePairing(ctx context.Context, code string, status PairingStatus, userID string, now time.Time) (PairingRequest, error)
}

// SessionStore keeps conversation sessions.
type SessionStore interface {
	// ActiveSession returns the active session of a user for an address
	// key; ErrNotFound when there is none.
	ActiveSession(ctx context.Context, userID, key string) (Session, error)
	// CreateSession stores s as the active session of its user and key,
	// deactivating any other.
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession saves Model, Summary, SummaryThrough and UpdatedAt.
	UpdateSession(ctx context.Context, s Session) error
	// ListSessions lists a user's sessions (all users when userID is
	// empty), most recently updated first.
	ListSessions(ctx context.Context, userID string, limit int) ([]Session, error)
}

// InboxStatus is the processing state of an accepted inbound message.
type InboxStatus string

// Inbox statuses.
const (
	InboxPending InboxStatus = "pending"
	InboxDone    InboxStatus = "done"
	InboxFailed  InboxStatus = "failed"
	// InboxHeld: stored for the record but never given to the agent
	// (unpaired sender, ignored group message).
	InboxHeld InboxStatus = "held"
)

// StoredInbound is an accepted inbound message with its routing.
type StoredInbound struct {
	ID        int64
	Inbound   Inbound
	UserID    string
	SessionID string
	Status    InboxStatus
	CreatedAt time.Time
}

// HistoryEntry is one stored chat message of a session, in order.
type HistoryEntry struct {
	Seq       int64
	SessionID string
	InboundID int64
	Message   ChatMessage
	CreatedAt time.Time
}

// TurnRecord is everything a finished turn writes, atomically.
type TurnRecord struct {
	InboundID int64
	Status    InboxStatus
	History   []HistoryEntry
	Outbound  []Outbound
	Usage     Usage
}

// MessageStore keeps the inbox, the history and the outbox.
type MessageStore interface {
	// SaveInbound stores an accepted message. When the channel and message
	// id were stored before it returns the earlier record and false.
	SaveInbound(ctx context.Context, m StoredInbound) (StoredInbound, bool, error)
	// PendingInbound lists pending messages in acceptance order.
	PendingInbound(ctx context.Context) ([]StoredInbound, error)
	// PendingInboundForSession lists one session's pending messages after
	// afterID, in order.
	PendingInboundForSession(ctx context.Context, sessionID string, afterID int64) ([]StoredInbound, error)
	GetInbound(ctx context.Context, id int64) (StoredInbound, error)
	// CompleteTurn appends history, sets the inbound's status and queues
	// the outbound messages in one transaction, returning their outbox ids
	// in order.
	CompleteTurn(ctx context.Context, rec TurnRecord) ([]int64, error)
	// History returns a session's entries with Seq > afterSeq, oldest
	// first, at most limit (0: all).
	History(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]HistoryEntry, error)
	// EnqueueOutbound queues one message outside a turn (notices).
	EnqueueOutbound(ctx context.Context, msg Outbound) (int64, error)
	// PendingOutbound lists queued messages not yet delivered, in order.
	PendingOutbound(ctx context.Context) ([]Outbound, error)
	// MarkDelivered records that an outbox message reached its channel.
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	// RepliesTo lists the delivered or queued outbox messages answering an
	// inbound message, in order.
	RepliesTo(ctx context.Context, inboundID int64) ([]Outbound, error)
}

// AuditEntry records one tool execution or safety event.
type AuditEntry struct {
	ID        int64         `json:"id"`
	Time      time.Time     `json:"time"`
	Kind      string        `json:"kind"` // tool, safety, approval, pairing
	UserID    string        `json:"user_id,omitempty"`
	SessionID string        `json:"session_id,omitempty"`
	Tool      string        `json:"tool,omitempty"`
	Input     string        `json:"input,omitempty"`  // secrets redacted
	Output    string        `json:"output,omitempty"` // sanitized, truncated
	Outcome   string        `json:"outcome"`          // ok, error, denied, blocked
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration"`
	Bytes     int64         `json:"bytes,omitempty"`
	Detail    string        `json:"detail,omitempty"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	UserID string
	Tool   string
	Kind   string
	Since  time.Time
	Limit  int
}

// AuditStore keeps the audit log.
type AuditStore interface {
	RecordAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit returns matching entries, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// Valid reports whether s is one of the inbox statuses.
func (s InboxStatus) Valid() bool {
	switch s {
	case InboxPending, InboxDone, InboxFailed, InboxHeld:
		return true
	}
	return false
}

// Prepare checks a message a store is about to save and fills what every
// store fills alike: an empty status is pending, and empty attachments and
// meta become nil. The error names what is missing or wrong.
func (m *StoredInbound) Prepare() error {
	in := &m.Inbound
	switch {
	case in.Channel == "" || in.MessageID == "":
		return fmt.Errorf("channel and message id are required, got %q/%q", in.Channel, in.MessageID)
	case m.Status == "":
		m.Status = InboxPending
	case !m.Status.Valid():
		return fmt.Errorf("%s/%s: invalid status %q", in.Channel, in.MessageID, m.Status)
	}
	if len(in.Attachments) == 0 {
		in.Attachments = nil
	}
	if len(in.Meta) == 0 {
		in.Meta = nil
	}
	return nil
}
