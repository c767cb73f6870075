// Package access is the access gate: it decides, before anything is
// stored as a conversation turn, whether the sender of an inbound message
// may use the bot. Known identities and allowlisted senders are admitted;
// an unknown sender gets a one-time pairing code that the owner approves
// (/pair approve CODE in the REPL, or hearth pairing approve CODE), and
// nothing else. Group messages are answered only when the bot is
// mentioned, unless the channel's group policy says otherwise.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// Defaults used when Options leaves a field at zero.
const (
	// DefaultTTL is how long a pairing code stays valid.
	DefaultTTL = time.Hour
	// DefaultMaxPending is how many unexpired codes a channel may have
	// waiting at once.
	DefaultMaxPending = 3
)

// Group policies: what the bot does with messages in group conversations.
const (
	// PolicyMention answers group messages that mention the bot (default).
	PolicyMention = "mention"
	// PolicyAll answers every group message.
	PolicyAll = "all"
	// PolicyOff ignores group messages.
	PolicyOff = "off"
)

// Errors of the gate; match them with errors.Is.
var (
	// ErrUnknownCode: no pending pairing request has that code (it never
	// existed, expired, or was approved or denied already), or the text is
	// not shaped like a code at all.
	ErrUnknownCode = errors.New("unknown or expired pairing code")
	// ErrInvalidOptions: New was given options it cannot work with.
	ErrInvalidOptions = errors.New("invalid access options")
	// ErrInvalidInbound: an inbound message without a channel or sender id.
	ErrInvalidInbound = errors.New("invalid inbound message")
	// ErrNotOwner: EnsureOwner found the identity linked to a user who is
	// not an owner.
	ErrNotOwner = errors.New("identity belongs to a user who is not an owner")
)

// Store is what the gate needs of engine.UserStore and engine.PairingStore.
// Every engine.Store satisfies it.
type Store interface {
	CreateUser(ctx context.Context, u engine.User) error
	GetUser(ctx context.Context, id string) (engine.User, error)
	LinkIdentity(ctx context.Context, id engine.Identity) error
	IdentityFor(ctx context.Context, channel, platformID string) (engine.Identity, error)
	CreatePairing(ctx context.Context, p engine.PairingRequest) error
	PendingPairingFor(ctx context.Context, channel, platformID string, now time.Time) (engine.PairingRequest, error)
	CountPendingPairings(ctx context.Context, channel string, now time.Time) (int, error)
	ListPendingPairings(ctx context.Context, now time.Time) ([]engine.PairingRequest, error)
	ResolvePairing(ctx context.Context, code string, status engine.PairingStatus, userID string, now time.Time) (engine.PairingRequest, error)
}

var _ Store = engine.Store(nil)

// Options configure a Gate.
type Options struct {
	// Store keeps users, identities and pairing requests. Required.
	Store Store
	// Allowlists maps a channel name to the platform ids admitted without
	// pairing; each gets a member user on first contact.
	Allowlists map[string][]string
	// GroupPolicy maps a channel name to PolicyMention (the default for
	// channels not listed), PolicyAll or PolicyOff.
	GroupPolicy map[string]string
	// TTL is how long a pairing code is valid (zero: DefaultTTL).
	TTL time.Duration
	// MaxPending bounds the unexpired codes per channel (zero:
	// DefaultMaxPending).
	MaxPending int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger receives pairing and admission events (nil: discard).
	Logger *slog.Logger
}

// Kind is the gate's verdict on an inbound message.
type Kind string

// The verdicts.
const (
	// Allow: a known or allowlisted sender; Decision.User is who.
	Allow Kind = "allow"
	// Pair: an unknown sender who gets a pairing code (Decision.Code) and
	// the notice to send them (Decision.Notice).
	Pair Kind = "pair"
	// Deny: an unknown sender who gets nothing (too many pending codes).
	Deny Kind = "deny"
	// Ignore: a message the bot does not answer (a group message without a
	// mention, or groups are off on the channel).
	Ignore Kind = "ignore"
)

// Decision is what Check says about one inbound message.
type Decision struct {
	Kind Kind
	// User is the sender's Hearth user, for Allow.
	User engine.User
	// Code and ExpiresAt describe the pending pairing request, for Pair.
	Code      string
	ExpiresAt time.Time
	// Notice is the text to send the sender, for Pair: the code, how the
	// owner approves it and when it expires.
	Notice string
	// Reason says why, for logs.
	Reason string
}

// Gate decides who may use the bot and runs pairing. It is safe for
// concurrent use.
type Gate struct {
	store      Store
	allow      map[string]map[string]struct{}
	policy     map[string]string
	ttl        time.Duration
	maxPending int
	now        func() time.Time
	log        *slog.Logger
	newCode    func() (string, error)

	// pairMu serialises issuing codes in this process, so two messages of
	// one unknown sender get one code and a burst cannot overshoot
	// MaxPending.
	pairMu sync.Mutex
}

// New checks the options and returns a gate.
func New(opts Options) (*Gate, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("access: no store: %w", ErrInvalidOptions)
	}
	if opts.TTL < 0 {
		return nil, fmt.Errorf("access: pairing TTL must not be negative, got %s: %w", opts.TTL, ErrInvalidOptions)
	}
	if opts.MaxPending < 0 {
		return nil, fmt.Errorf("access: max pending pairings must not be negative, got %d: %w", opts.MaxPending, ErrInvalidOptions)
	}
	g := &Gate{
		store:      opts.Store,
		allow:      map[string]map[string]struct{}{},
		policy:     map[string]string{},
		ttl:        opts.TTL,
		maxPending: opts.MaxPending,
		now:        opts.Now,
		log:        opts.Logger,
		newCode:    newCode,
	}
	if g.ttl == 0 {
		g.ttl = DefaultTTL
	}
	if g.maxPending == 0 {
		g.maxPending = DefaultMaxPending
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	for ch, p := range opts.GroupPolicy {
		switch p {
		case PolicyMention, PolicyAll, PolicyOff:
			g.policy[ch] = p
		case "":
			g.policy[ch] = PolicyMention
		default:
			return nil, fmt.Errorf("access: group policy of channel %q: must be %q, %q or %q, got %q: %w",
				ch, PolicyMention, PolicyAll, PolicyOff, p, ErrInvalidOptions)
		}
	}
	for ch, ids := range opts.Allowlists {
		set := map[string]struct{}{}
		for i, id := range ids {
			id = strings.TrimSpace(id)
			if id == "" {
				return nil, fmt.Errorf("access: allowlist of channel %q: entry %d is empty: %w", ch, i, ErrInvalidOptions)
			}
			set[id] = struct{}{}
		}
		g.allow[ch] = set
	}
	return g, nil
}

// GroupPolicy returns the group policy of a channel.
func (g *Gate) GroupPolicy(channel string) string {
	if p, ok := g.policy[channel]; ok {
		return p
	}
	return PolicyMention
}

// Check decides what happens to an inbound message. The rules, in order:
//  1. a group message (Direct false) is ignored when the channel's group
//     policy is off, or when it is mention and the bot was not mentioned;
//     this comes first, so strangers chatting in a group get no codes;
//  2. a sender whose identity is known is allowed as its user;
//  3. a sender on the channel's allowlist gets a member user and identity
//     on first contact, and is allowed;
//  4. anyone else is an unknown sender: they get their pending pairing
//     code (the same one while it is valid) or a new one (Pair), or
//     nothing when the channel already has MaxPending codes waiting (Deny).
//
// An error means the store failed; the message must not be admitted.
func (g *Gate) Check(ctx context.Context, in engine.Inbound) (Decision, error) {
	if in.Channel == "" || in.Sender.ID == "" {
		return Decision{}, fmt.Errorf("access: message %q on channel %q has no channel or sender id: %w",
			in.MessageID, in.Channel, ErrInvalidInbound)
	}
	if !in.Direct {
		switch g.GroupPolicy(in.Channel) {
		case PolicyOff:
			return Decision{Kind: Ignore, Reason: "group messages are off on this channel"}, nil
		case PolicyMention:
			if !in.Mentioned {
				return Decision{Kind: Ignore, Reason: "group message without a mention"}, nil
			}
		}
	}

	id, err := g.store.IdentityFor(ctx, in.Channel, in.Sender.ID)
	switch {
	case err == nil:
		u, err := g.store.GetUser(ctx, id.UserID)
		if err != nil {
			return Decision{}, fmt.Errorf("access: user %s of identity %s/%s: %w", id.UserID, in.Channel, in.Sender.ID, err)
		}
		return Decision{Kind: Allow, User: u, Reason: "known identity"}, nil
	case !errors.Is(err, engine.ErrNotFound):
		return Decision{}, fmt.Errorf("access: look up %s/%s: %w", in.Channel, in.Sender.ID, err)
	}

	if _, ok := g.allow[in.Channel][in.Sender.ID]; ok {
		u, err := g.ensureUser(ctx, in.Channel, in.Sender.ID, in.Sender.DisplayName, engine.RoleMember)
		if err != nil {
			return Decision{}, fmt.Errorf("access: admit allowlisted %s/%s: %w", in.Channel, in.Sender.ID, err)
		}
		g.log.Info("allowlisted sender admitted", "channel", in.Channel, "platform_id", in.Sender.ID, "user_id", u.ID)
		return Decision{Kind: Allow, User: u, Reason: "allowlisted"}, nil
	}

	return g.pair(ctx, in)
}
