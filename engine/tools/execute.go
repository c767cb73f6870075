package tools

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
)

// outcome is what a tool's goroutine reports.
type outcome struct {
	res      engine.ToolResult
	err      error
	panicked any
	stack    []byte
}

// Execute runs one call of the named tool.
//
// Everything the model can correct comes back as a result with IsError
// set and a message saying what was wrong: an unknown tool (with the list
// of available ones), arguments that are not JSON or that fail the
// schema (which field, what was expected), a call that timed out, a tool
// that returned an error or panicked. Empty or null arguments are the
// empty object; the tool receives the validated arguments in inv.Args.
//
// A Go error is returned only when the caller's ctx is cancelled or past
// its deadline, which the agent loop treats as the end of the turn.
//
// The call is bounded by ToolInfo.Timeout (or the registry default). A
// tool that ignores its context is abandoned when the time is up: its
// goroutine finishes on its own and its late result is dropped. Content
// longer than the registry's MaxOutput is cut at a UTF-8 boundary and a
// note says so. The result's Untrusted is set when the tool's info says
// its output is untrusted, and Source defaults to "tool:<name>".
func (r *Registry) Execute(ctx context.Context, name string, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if err := ctx.Err(); err != nil {
		return engine.ToolResult{}, fmt.Errorf("tools: execute %q: %w", name, err)
	}
	e := r.lookup(name)
	if e == nil {
		return r.errorResult(name, r.unknownMessage(name)), nil
	}
	args, value, problem := parseArgs(inv.Args)
	if problem != "" {
		return r.errorResult(name, fmt.Sprintf("invalid arguments for tool %q: %s", name, problem)), nil
	}
	if err := e.schema.Validate(value); err != nil {
		return r.errorResult(name, validationMessage(name, violations(err, r.printer))), nil
	}
	inv.Args = args

	timeout := e.info.Timeout
	if timeout <= 0 {
		timeout = r.timeout
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	done := make(chan outcome, 1)
	go run(callCtx, e.tool, inv, done)

	var out outcome
	select {
	case out = <-done:
	case <-callCtx.Done():
		if err := ctx.Err(); err != nil {
			return engine.ToolResult{}, fmt.Errorf("tools: execute %q: %w", name, err)
		}
		r.log.Warn("tool call timed out", "tool", name, "call_id", inv.CallID, "timeout", timeout)
		return r.errorResult(name, fmt.Sprintf("tool %q timed out after %s and was stopped", name, timeout)), nil
	}

	switch {
	case out.panicked != nil:
		r.log.Error("tool panicked", "tool", name, "call_id", inv.CallID, "panic", fmt.Sprint(out.panicked), "stack", string(out.stack))
		return r.errorResult(name, fmt.Sprintf("tool %q failed with an internal error", name)), nil
	case out.err != nil:
		if err := ctx.Err(); err != nil {
			return engine.ToolResult{}, fmt.Errorf("tools: execute %q: %w", name, err)
		}
		if errors.Is(out.err, context.DeadlineExceeded) && callCtx.Err() != nil {
			r.log.Warn("tool call timed out", "tool", name, "call_id", inv.CallID, "timeout", timeout)
			return r.errorResult(name, fmt.Sprintf("tool %q timed out after %s and was stopped", name, timeout)), nil
		}
		r.log.Warn("tool failed", "tool", name, "call_id", inv.CallID, "err", out.err, "duration", time.Since(start))
		return r.errorResult(name, fmt.Sprintf("tool %q failed: %v", name, out.err)), nil
	}

	res := out.res
	res.Content = r.capOutput(res.Content)
	res.Untrusted = res.Untrusted || e.info.Untrusted
	if res.Source == "" {
		res.Source = "tool:" + name
	}
	return res, nil
}

// run calls the tool and reports on done, which has room for one value,
// so a call abandoned after a timeout never blocks.
func run(ctx context.Context, t engine.Tool, inv engine.ToolInvocation, done chan<- outcome) {
	defer func() {
		if p := recover(); p != nil {
			done <- outcome{panicked: p, stack: debug.Stack()}
		}
	}()
	res, err := t.Execute(ctx, inv)
	done <- outcome{res: res, err: err}
}

func (r *Registry) errorResult(name, msg string) engine.ToolResult {
	return engine.ToolResult{Content: r.capOutput(msg), IsError: true, Source: "tool:" + name}
}

// unknownMessage names the tool that does not exist and the ones that do.
func (r *Registry) unknownMessage(name string) string {
	names := r.Names()
	avail := "none"
	if len(names) > 0 {
		avail = strings.Join(names, ", ")
	}
	return fmt.Sprintf("unknown tool %q; available: %s", name, avail)
}

// capOutput makes s valid UTF-8 and cuts it to the registry's limit,
// noting how much was left out.
func (r *Registry) capOutput(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= r.maxOutput {
		return s
	}
	cut := r.maxOutput
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n\n[output truncated: showing the first %d of %d bytes]", cut, len(s))
}
