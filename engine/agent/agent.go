// Package agent runs one turn of a conversation: it assembles the prompt
// (system prompt, identity and memory sections, compacted history), calls
// the LLM with the tool list, runs the tool calls the model asks for
// (concurrently where the tools allow it), passes every untrusted result
// through the safety layer, and repeats until the model answers or a limit
// is hit.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// ToolSet is what the agent needs of the tool registry.
type ToolSet interface {
	Specs() []engine.ToolSpec
	Info(name string) (engine.ToolInfo, bool)
	Execute(ctx context.Context, name string, inv engine.ToolInvocation) (engine.ToolResult, error)
}

// ApprovalPolicy decides whether a tool call needs the owner's consent.
// The safety layer provides it; without one only tools marked
// NeedsApproval ask.
type ApprovalPolicy func(info engine.ToolInfo, args json.RawMessage, tainted, requesterIsOwner bool) (bool, string)

// AuditRecorder records tool executions.
type AuditRecorder interface {
	RecordAudit(ctx context.Context, e engine.AuditEntry) (int64, error)
}

// Limiter bounds concurrent LLM calls across all sessions.
type Limiter interface {
	Acquire(ctx context.Context) (release func(), err error)
}

// Options configure an Agent. LLM is required; everything else is optional.
type Options struct {
	LLM          engine.LLM
	Tools        ToolSet
	Guard        engine.ContentGuard
	Approver     engine.Approver
	Policy       ApprovalPolicy
	Prompts      []engine.PromptSource
	Audit        AuditRecorder
	Limiter      Limiter
	SystemPrompt string
	// MaxIterations caps LLM calls in one turn (default 10).
	MaxIterations int
	// MaxParallelTools caps concurrent tool calls in one step (default 4).
	MaxParallelTools int
	// ContextWindow is the model's context size in tokens (default 32768).
	ContextWindow int
	// CompactionThreshold is the share of the window that triggers
	// compaction (default 0.8).
	CompactionThreshold float64
	// KeepRecent is the number of recent user turns kept raw (default 10).
	KeepRecent int
	// MaxTokens bounds the answer length of each call (0: provider default).
	MaxTokens       int
	ApprovalTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
}

// Agent runs turns. It is safe for concurrent use by many actors.
type Agent struct {
	o Options
}

// New validates options and returns an Agent.
func New(o Options) (*Agent, error) {
	if o.LLM == nil {
		return nil, errors.New("agent: an LLM is required")
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = 10
	}
	if o.MaxParallelTools <= 0 {
		o.MaxParallelTools = 4
	}
	if o.ContextWindow <= 0 {
		o.ContextWindow = 32768
	}
	if o.CompactionThreshold <= 0 || o.CompactionThreshold > 1 {
		o.CompactionThreshold = 0.8
	}
	if o.KeepRecent <= 0 {
		o.KeepRecent = 10
	}
	if o.ApprovalTimeout <= 0 {
		o.ApprovalTimeout = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Agent{o: o}, nil
}

// Turn is one unit of work for the agent.
type Turn struct {
	User    engine.User
	Session engine.Session
	// History holds the session's entries after Session.SummaryThrough.
	History []engine.HistoryEntry
	// Input is the new user message.
	Input string
	// InputSource describes who wrote Input; a non-owner's message is
	// untrusted and goes through the guard.
	InputSource engine.ContentSource
	InboundID   int64
	From        engine.Address
	// Model overrides the provider's model for this turn.
	Model string
	// OnDelta receives streamed answer text (everything so far in the
	// current LLM call). Nil disables streaming.
	OnDelta func(text string)
	// OnStatus receives short progress lines ("using web_fetch").
	OnStatus func(status string)
}

// Compaction is a new summary of older history, to be saved in the session.
type Compaction struct {
	Summary string
	// Through is the Seq of the last entry the summary covers.
	Through int64
}

// Result is the outcome of a turn.
type Result struct {
	// Reply is the final answer text.
	Reply string
	// Messages are the turn's new history entries in order: the user
	// message, any assistant tool-call and tool-result messages, and the
	// final answer.
	Messages   []engine.ChatMessage
	Usage      engine.Usage
	Iterations int
	Tainted    bool
	Compaction *Compaction
	Model      string
}

// Run executes one turn.
func (a *Agent) Run(ctx context.Context, t Turn) (Result, error) {
	res := Result{}
	input := t.Input
	if !t.InputSource.Trusted && a.o.Guard != nil {
		g, err := a.o.Guard.Guard(ctx, t.InputSource, input)
		if err != nil {
			return res, fmt.Errorf("guard input: %w", err)
		}
		input = g.Text
		res.Tainted = res.Tainted || g.Tainted
	}
	userMsg := engine.ChatMessage{Role: engine.RoleUser, Content: input}
	res.Messages = append(res.Messages, userMsg)

	system, err := a.systemPrompt(ctx, t)
	if err != nil {
		return res, err
	}
	history := t.History
	summary := t.Session.Summary
	if c, kept, err := a.maybeCompact(ctx, t, system, summary, history, input); err != nil {
		a.o.Logger.Warn("history compaction failed; continuing with full history", "session", t.Session.ID, "err", err)
	} else if c != nil {
		res.Compaction = c
		summary = c.Summary
		history = kept
	}
	if summary != "" {
		system += "\n\n## Summary of the earlier conversation\n" + summary
	}
	msgs := make([]engine.ChatMessage, 0, len(history)+8)
	for _, h := range history {
		msgs = append(msgs, h.Message)
	}
	msgs = append(msgs, userMsg)

	var specs []engine.ToolSpec
	if a.o.Tools != nil {
		specs = a.o.Tools.Specs()
	}
	for i := 0; i < a.o.MaxIterations; i++ {
		res.Iterations = i + 1
		resp, err := a.call(ctx, engine.ChatRequest{
			Model:     t.Model,
			System:    system,
			Messages:  msgs,
			Tools:     specs,
			MaxTokens: a.o.MaxTokens,
			OnDelta:   a.deltaFunc(t),
		})
		if err != nil {
			return res, err
		}
		res.Usage = res.Usage.Add(resp.Usage)
		res.Model = resp.Model
		msg := resp.Message
		msg.Role = engine.RoleAssistant
		if len(msg.ToolCalls) == 0 {
			res.Reply = msg.Content
			res.Messages = append(res.Messages, msg)
			return res, nil
		}
		msgs = append(msgs, msg)
		res.Messages = append(res.Messages, msg)
		results := a.runTools(ctx, t, msg.ToolCalls, &res)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		msgs = append(msgs, results...)
		res.Messages = append(res.Messages, results...)
	}
	res.Reply = fmt.Sprintf("I stopped after %d steps without finishing this request (the per-message step limit). Tell me to continue, or narrow the request.", a.o.MaxIterations)
	res.Messages = append(res.Messages, engine.ChatMessage{Role: engine.RoleAssistant, Content: res.Reply})
	a.o.Logger.Warn("turn hit the iteration limit", "session", t.Session.ID, "max_iterations", a.o.MaxIterations)
	return res, nil
}

func (a *Agent) deltaFunc(t Turn) func(string) {
	if t.OnDelta == nil {
		return nil
	}
	var b strings.Builder
	return func(d string) {
		b.WriteString(d)
		t.OnDelta(b.String())
	}
}

// call performs one LLM call under the global limiter.
func (a *Agent) call(ctx context.Context, req engine.ChatRequest) (*engine.ChatResponse, error) {
	if a.o.Limiter != nil {
		release, err := a.o.Limiter.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	resp, err := a.o.LLM.Chat(ctx, req)
	if err != nil {
		return nil, &LLMError{Err: err}
	}
	if resp == nil {
		return nil, &LLMError{Err: errors.New("provider returned no response")}
	}
	return resp, nil
}

// LLMError wraps a provider failure so the runtime can tell the user.
type LLMError struct{ Err error }

func (e *LLMError) Error() string { return "llm: " + e.Err.Error() }
func (e *LLMError) Unwrap() error { return e.Err }
