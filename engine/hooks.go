package engine

import (
	"context"
	"time"
)

// ContentSource says where a piece of text came from, for the safety layer.
type ContentSource struct {
	// Kind is one of: user (a person's message), tool, web, mcp, channel
	// (a WASM channel message), file (workspace or attachment).
	Kind string
	// Name narrows the source: the tool name, the URL host, the channel.
	Name string
	// Trusted content (the owner's own messages, identity files) is scanned
	// for leaked secrets but never rewritten.
	Trusted bool
}

// Guarded is the safety layer's decision on a piece of content.
type Guarded struct {
	// Text is what the model sees: the content, sanitized and wrapped in
	// an untrusted-data block when the source is untrusted.
	Text string
	// Action is allow, block, sanitize, review or warn.
	Action string
	// Tainted reports that untrusted content entered the turn.
	Tainted bool
	// Findings names the rules that matched, for the audit log.
	Findings []string
}

// ContentGuard inspects every piece of content before the model sees it
// (tool output, MCP results, web pages, non-owner messages). The safety
// layer (engine/safety) implements it.
type ContentGuard interface {
	Guard(ctx context.Context, src ContentSource, text string) (Guarded, error)
}

// OutboundGuard checks a reply before a channel sends it: leaked secrets
// are removed and data-carrying links defanged. It returns the text to
// send and what it changed.
type OutboundGuard interface {
	CheckOutbound(ctx context.Context, userID string, text string) (string, []string)
}

// ApprovalRequest asks the owner to allow one action.
type ApprovalRequest struct {
	UserID    string
	SessionID string
	Tool      string
	Args      string
	Reason    string
	// To is where the owner is asked (the conversation of the turn when the
	// requester is the owner, else the owner's last conversation).
	To      Address
	Timeout time.Duration
}

// ApprovalDecision is the owner's answer.
type ApprovalDecision string

// Approval answers. A timeout is ApprovalNo.
const (
	ApprovalYes    ApprovalDecision = "yes"
	ApprovalNo     ApprovalDecision = "no"
	ApprovalAlways ApprovalDecision = "always"
)

// Approver asks the owner to approve a sensitive action and waits.
type Approver interface {
	RequestApproval(ctx context.Context, req ApprovalRequest) (ApprovalDecision, error)
}

// PromptContext is what a prompt source knows about the turn.
type PromptContext struct {
	User    User
	Session Session
	// Query is the user's message, for recall.
	Query string
	Now   time.Time
}

// PromptSource contributes text to the system prompt: identity files and
// recalled memory (memory issue). Each source returns a section, or "".
type PromptSource interface {
	PromptSection(ctx context.Context, pc PromptContext) (string, error)
}
