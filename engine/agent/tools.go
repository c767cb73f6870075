package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// maxAuditText bounds what the audit log keeps of a tool's input or output.
const maxAuditText = 4096

// runTools executes one step's tool calls and returns the tool messages in
// the order of the calls. Calls run concurrently when every tool of the
// step allows it, bounded by MaxParallelTools.
func (a *Agent) runTools(ctx context.Context, t Turn, calls []engine.ToolCall, res *Result) []engine.ChatMessage {
	out := make([]engine.ChatMessage, len(calls))
	tainted := make([]bool, len(calls))
	parallel := len(calls) > 1
	for _, c := range calls {
		info, ok := a.info(c.Name)
		if !ok || !info.Parallel {
			parallel = false
		}
	}
	run := func(i int) {
		content, taint := a.runTool(ctx, t, calls[i], res.Tainted)
		out[i] = engine.ChatMessage{Role: engine.RoleTool, ToolCallID: calls[i].ID, Name: calls[i].Name, Content: content}
		tainted[i] = taint
	}
	if parallel {
		sem := make(chan struct{}, a.o.MaxParallelTools)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				run(i)
			}()
		}
		wg.Wait()
	} else {
		for i := range calls {
			run(i)
		}
	}
	for _, tt := range tainted {
		res.Tainted = res.Tainted || tt
	}
	return out
}

func (a *Agent) info(name string) (engine.ToolInfo, bool) {
	if a.o.Tools == nil {
		return engine.ToolInfo{}, false
	}
	return a.o.Tools.Info(name)
}

// runTool runs one call through approval, execution, the guard and the
// audit log. It returns the text the model sees and whether the result
// tainted the turn.
func (a *Agent) runTool(ctx context.Context, t Turn, call engine.ToolCall, tainted bool) (string, bool) {
	start := a.o.Now()
	entry := engine.AuditEntry{
		Time: start, Kind: "tool", UserID: t.User.ID, SessionID: t.Session.ID,
		Tool: call.Name, Input: clip(string(call.Arguments)),
	}
	defer func() {
		if a.o.Audit == nil {
			return
		}
		entry.Duration = a.o.Now().Sub(start)
		if _, err := a.o.Audit.RecordAudit(context.WithoutCancel(ctx), entry); err != nil {
			a.o.Logger.Error("audit record failed", "tool", call.Name, "err", err)
		}
	}()
	if a.o.Tools == nil {
		entry.Outcome = "error"
		entry.Error = "no tools are available"
		return "error: no tools are available in this conversation", false
	}
	info, known := a.o.Tools.Info(call.Name)
	if known {
		if ok, why := a.approve(ctx, t, info, call, tainted); !ok {
			entry.Outcome = "denied"
			entry.Error = why
			return why, false
		}
	}
	if t.OnStatus != nil {
		t.OnStatus("using " + call.Name)
	}
	inv := engine.ToolInvocation{
		CallID: call.ID, Args: call.Arguments, UserID: t.User.ID, SessionID: t.Session.ID,
		From: t.From, Timezone: t.User.Timezone, Tainted: tainted,
	}
	result, err := a.o.Tools.Execute(ctx, call.Name, inv)
	if err != nil {
		entry.Outcome = "error"
		entry.Error = err.Error()
		return fmt.Sprintf("error: tool %s failed: %v", call.Name, err), false
	}
	entry.Outcome = "ok"
	if result.IsError {
		entry.Outcome = "error"
	}
	entry.Bytes = int64(len(result.Content))
	content := result.Content
	untrusted := info.Untrusted || result.Untrusted
	taint := false
	if a.o.Guard != nil {
		src := engine.ContentSource{Kind: "tool", Name: call.Name, Trusted: !untrusted}
		if result.Source != "" {
			src.Name = result.Source
		}
		g, err := a.o.Guard.Guard(ctx, src, content)
		if err != nil {
			entry.Outcome = "error"
			entry.Error = "guard: " + err.Error()
			return "error: the tool output could not be checked and was withheld", false
		}
		content = g.Text
		taint = g.Tainted
		if len(g.Findings) > 0 {
			entry.Detail = fmt.Sprintf("safety %s: %v", g.Action, g.Findings)
		}
		if g.Action == "review" && !a.reviewed(ctx, t, call, g.Findings) {
			entry.Outcome = "withheld"
			content = fmt.Sprintf("[The output of %s was withheld: it was flagged (%s) and the owner did not allow it. Do not act on it; tell the user it was not used.]",
				call.Name, strings.Join(g.Findings, ", "))
		}
	} else if untrusted {
		taint = true
	}
	entry.Output = clip(content)
	if result.IsError && content != "" {
		return "error: " + content, taint
	}
	return content, taint
}

// approve asks the owner when the call needs consent. It reports whether
// the call may run and, if not, the text the model sees.
func (a *Agent) approve(ctx context.Context, t Turn, info engine.ToolInfo, call engine.ToolCall, tainted bool) (bool, string) {
	needs, reason := info.NeedsApproval, "this tool always asks the owner"
	if a.o.Policy != nil {
		needs, reason = a.o.Policy(info, call.Arguments, tainted, t.User.Role == engine.RoleOwner)
	}
	if !needs {
		return true, ""
	}
	if a.o.Approver == nil {
		return false, fmt.Sprintf("denied: %s needs the owner's approval (%s), and no approver is available", call.Name, reason)
	}
	actx, cancel := context.WithTimeout(ctx, a.o.ApprovalTimeout)
	defer cancel()
	decision, err := a.o.Approver.RequestApproval(actx, engine.ApprovalRequest{
		UserID: t.User.ID, SessionID: t.Session.ID, Tool: call.Name, Args: string(call.Arguments),
		Reason: reason, To: t.From, Timeout: a.o.ApprovalTimeout,
	})
	if err != nil || (decision != engine.ApprovalYes && decision != engine.ApprovalAlways) {
		if t.OnStatus != nil {
			t.OnStatus(fmt.Sprintf("%s was not approved (%s), so it did not run", call.Name, reason))
		}
		return false, fmt.Sprintf("denied: the owner did not approve %s (%s). Do not retry it; tell the user it was not done.", call.Name, reason)
	}
	return true, ""
}

// reviewed asks the owner whether flagged tool output may reach the model
// (the safety policy's review action). Without an approver it may not.
func (a *Agent) reviewed(ctx context.Context, t Turn, call engine.ToolCall, findings []string) bool {
	if a.o.Approver == nil {
		return false
	}
	actx, cancel := context.WithTimeout(ctx, a.o.ApprovalTimeout)
	defer cancel()
	d, err := a.o.Approver.RequestApproval(actx, engine.ApprovalRequest{
		UserID: t.User.ID, SessionID: t.Session.ID, Tool: call.Name, Args: string(call.Arguments),
		Reason: "its output was flagged by the safety layer (" + strings.Join(findings, ", ") + "); allow the model to read it?",
		To:     t.From, Timeout: a.o.ApprovalTimeout,
	})
	return err == nil && (d == engine.ApprovalYes || d == engine.ApprovalAlways)
}

func clip(s string) string {
	if len(s) <= maxAuditText {
		return s
	}
	return s[:maxAuditText] + "…[truncated]"
}
