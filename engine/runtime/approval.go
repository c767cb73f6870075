package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// Approvals asks the owner to approve sensitive actions on the channel
// where the owner is, and takes the answer (yes, no, always) from the
// owner's next message in that conversation — before it would queue behind
// the waiting turn. It implements engine.Approver. Create it before the
// agent, give it to agent.Options.Approver and runtime.Options.Approvals.
type Approvals struct {
	mu      sync.Mutex
	e       *Engine
	pending map[string]*pendingApproval // by owner conversation key
	always  map[string]bool             // user + "\x00" + tool
}

type pendingApproval struct {
	req    engine.ApprovalRequest
	answer chan engine.ApprovalDecision
}

var _ engine.Approver = (*Approvals)(nil)

// NewApprovals returns an approver with nothing pending.
func NewApprovals() *Approvals {
	return &Approvals{pending: map[string]*pendingApproval{}, always: map[string]bool{}}
}

// ErrApprovalBusy: another approval is already waiting in that
// conversation; the second request is refused rather than confused.
var ErrApprovalBusy = errors.New("another approval is waiting in that conversation")

// RequestApproval sends the question and waits for the owner's answer
// until ctx ends (a timeout is a no).
func (a *Approvals) RequestApproval(ctx context.Context, req engine.ApprovalRequest) (engine.ApprovalDecision, error) {
	a.mu.Lock()
	e := a.e
	if a.always[req.UserID+"\x00"+req.Tool] {
		a.mu.Unlock()
		return engine.ApprovalAlways, nil
	}
	a.mu.Unlock()
	if e == nil {
		return engine.ApprovalNo, errors.New("approvals are not connected to an engine")
	}
	to, err := e.ownerAddress(ctx, req)
	if err != nil {
		return engine.ApprovalNo, err
	}
	// The key leaves out ReplyTo; the question still answers the message
	// being handled, so synchronous channels (the webhook) show it.
	key := to.Key()
	p := &pendingApproval{req: req, answer: make(chan engine.ApprovalDecision, 1)}
	a.mu.Lock()
	if _, busy := a.pending[key]; busy {
		a.mu.Unlock()
		return engine.ApprovalNo, ErrApprovalBusy
	}
	a.pending[key] = p
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.pending[key] == p {
			delete(a.pending, key)
		}
		a.mu.Unlock()
	}()
	args := req.Args
	if len(args) > 500 {
		args = args[:500] + "…"
	}
	timeout := "a few minutes"
	if req.Timeout > 0 {
		timeout = req.Timeout.Round(time.Second).String()
	}
	question := fmt.Sprintf("Approval needed: the assistant wants to run %s with %s\nWhy I am asking: %s.\nReply yes, no, or always (allow %s from now on). No answer within %s counts as no.",
		req.Tool, args, req.Reason, req.Tool, timeout)
	if err := e.enqueue(ctx, engine.Outbound{Kind: engine.KindNotice, To: to, Text: question, Final: false}); err != nil {
		return engine.ApprovalNo, err
	}
	e.audit(ctx, engine.AuditEntry{Kind: "approval", UserID: req.UserID, SessionID: req.SessionID, Tool: req.Tool, Input: args, Outcome: "asked", Detail: req.Reason})
	select {
	case d := <-p.answer:
		if d == engine.ApprovalAlways {
			a.mu.Lock()
			a.always[req.UserID+"\x00"+req.Tool] = true
			a.mu.Unlock()
		}
		e.audit(ctx, engine.AuditEntry{Kind: "approval", UserID: req.UserID, SessionID: req.SessionID, Tool: req.Tool, Outcome: string(d)})
		return d, nil
	case <-ctx.Done():
		e.audit(context.WithoutCancel(ctx), engine.AuditEntry{Kind: "approval", UserID: req.UserID, SessionID: req.SessionID, Tool: req.Tool, Outcome: "timeout"})
		_ = e.enqueue(context.WithoutCancel(ctx), engine.Outbound{Kind: engine.KindNotice, To: to, Text: "No answer in time, so " + req.Tool + " was not run.", Final: false})
		return engine.ApprovalNo, nil
	}
}

// answer resolves a pending approval with the owner's message, if the
// message is an answer. It reports whether it consumed the message.
func (a *Approvals) answer(key, text string) bool {
	d, ok := parseDecision(text)
	if !ok {
		return false
	}
	a.mu.Lock()
	p := a.pending[key]
	if p != nil {
		delete(a.pending, key)
	}
	a.mu.Unlock()
	if p == nil {
		return false
	}
	p.answer <- d
	return true
}

// parseDecision reads yes, no or always (in a few languages).
func parseDecision(text string) (engine.ApprovalDecision, bool) {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!")) {
	case "yes", "y", "approve", "ok", "sí", "si", "oui", "ja", "sim":
		return engine.ApprovalYes, true
	case "no", "n", "deny", "non", "nein", "não", "nao":
		return engine.ApprovalNo, true
	case "always":
		return engine.ApprovalAlways, true
	}
	return "", false
}

func (a *Approvals) waiting(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending[key] != nil
}

// ownerAddress is where the owner is asked: the turn's own conversation
// when the requester is the owner, else the owner's most recent one.
func (e *Engine) ownerAddress(ctx context.Context, req engine.ApprovalRequest) (engine.Address, error) {
	u, err := e.o.Store.GetUser(ctx, req.UserID)
	if err != nil {
		return engine.Address{}, fmt.Errorf("approval: requester: %w", err)
	}
	if u.Role == engine.RoleOwner && req.To.Channel != "" && req.To.Channel != JobChannel {
		return req.To, nil
	}
	users, err := e.o.Store.ListUsers(ctx)
	if err != nil {
		return engine.Address{}, fmt.Errorf("approval: owner: %w", err)
	}
	for _, o := range users {
		if o.Role != engine.RoleOwner {
			continue
		}
		sessions, err := e.o.Store.ListSessions(ctx, o.ID, 20)
		if err != nil {
			return engine.Address{}, fmt.Errorf("approval: owner's sessions: %w", err)
		}
		for _, s := range sessions {
			if _, ok := e.channel(s.Address.Channel); ok && s.Address.Channel != JobChannel {
				return s.Address, nil
			}
		}
	}
	return engine.Address{}, errors.New("approval: the owner has no conversation on a running channel to be asked in")
}

// audit records an event, logging a failure.
func (e *Engine) audit(ctx context.Context, a engine.AuditEntry) {
	if a.Time.IsZero() {
		a.Time = e.o.Now()
	}
	if _, err := e.o.Store.RecordAudit(ctx, a); err != nil {
		e.log.Error("audit record failed", "kind", a.Kind, "err", err)
	}
}
