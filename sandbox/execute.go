package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Execute runs one call of the tool in a fresh instance. Whatever the
// guest does (trap, loop, exhaust memory, flood its log, break the ABI,
// request what it may not) ends in a ToolResult with IsError set and a
// message the model can read; the host is unaffected. A Go error is
// returned only when ctx is cancelled by the caller.
func (m *Module) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if err := ctx.Err(); err != nil {
		return engine.ToolResult{}, fmt.Errorf("sandbox: %s: %w", m.name, err)
	}
	start := time.Now()
	ex := &execution{mod: m, inv: inv, lim: m.limits, depth: depthFrom(ctx), det: m.rt.leak,
		log: m.rt.log.With("tool", m.name, "user", inv.UserID, "call_id", inv.CallID)}
	if !m.acquire() {
		return m.errorResult("the tool was unloaded; it is no longer available"), nil
	}
	res, outcome := m.execute(ctx, ex)
	m.release()
	m.audit(ctx, ex, res, outcome, time.Since(start))
	if err := ctx.Err(); err != nil {
		return engine.ToolResult{}, fmt.Errorf("sandbox: %s: %w", m.name, err)
	}
	return res, nil
}

func (m *Module) errorResult(msg string) engine.ToolResult {
	return engine.ToolResult{Content: "tool " + m.name + ": " + msg, IsError: true, Untrusted: m.info.Untrusted, Source: "tool:" + m.name}
}

// execute returns the result and the audit outcome.
func (m *Module) execute(ctx context.Context, ex *execution) (engine.ToolResult, string) {
	if !m.limiter.allow(ex.inv.UserID, "call") {
		ex.kill = "rate limit"
		return m.errorResult(fmt.Sprintf("rate limit: at most %d calls per minute; try again later", m.caps.RateLimit.CallsPerMinute)), "blocked"
	}
	if src := m.rt.opts.Secrets; src != nil && ex.inv.UserID != "" {
		values, err := src.Values(ctx, ex.inv.UserID)
		if err != nil {
			// Without the user's secrets the leak scan would be blind:
			// fail closed.
			ex.log.Error("secrets unavailable; refusing to run", "err", err)
			return m.errorResult("cannot run: the secret store is unavailable"), "error"
		}
		if len(values) > 0 {
			ex.det = ex.det.WithSecrets(values)
		}
	}
	select {
	case m.rt.sem <- struct{}{}:
	case <-ctx.Done():
		return m.errorResult("cancelled while waiting for a free slot"), "error"
	}
	defer func() { <-m.rt.sem }()

	args := ex.inv.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	input, err := json.Marshal(struct {
		Params  json.RawMessage   `json:"params"`
		Context map[string]string `json:"context"`
	}{args, map[string]string{"tool": m.name, "call_id": ex.inv.CallID, "timezone": ex.inv.Timezone}})
	if err != nil {
		return m.errorResult("the arguments are not valid JSON"), "error"
	}

	out, err := m.run(ctx, ex, input)
	if err != nil {
		return m.errorResult(err.Error()), "error"
	}
	var env struct {
		Output string `json:"output"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(out, &env); err != nil {
		return m.errorResult("it returned a malformed result (not the SDK's JSON envelope)"), "error"
	}
	if len(env.Output) > m.limits.MaxOutputBytes {
		return m.errorResult(fmt.Sprintf("its output of %d bytes exceeds the %d-byte limit", len(env.Output), m.limits.MaxOutputBytes)), "error"
	}
	content := strings.ToValidUTF8(env.Output, "\uFFFD")
	errText := strings.ToValidUTF8(env.Error, "\uFFFD")
	// The model never sees a secret value or a credential.
	content, f1 := ex.det.Redact(content)
	errText, f2 := ex.det.Redact(errText)
	if f := append(f1, f2...); len(f) > 0 {
		ex.log.Warn("redacted the tool's output", "findings", leak.Describe(f))
	}
	res := engine.ToolResult{Content: content, Untrusted: m.info.Untrusted, Source: "tool:" + m.name}
	if errText != "" {
		res.IsError = true
		if content == "" {
			res.Content = errText
		} else {
			res.Content = content + "\n\nerror: " + errText
		}
		return res, "error"
	}
	return res, "ok"
}

// run instantiates, calls execute and copies the output out before the
// instance is freed.
func (m *Module) run(ctx context.Context, ex *execution, input []byte) ([]byte, error) {
	callCtx, cancel := context.WithTimeout(withExecution(ctx, ex), m.limits.Timeout)
	defer cancel()
	inst, err := m.instance(callCtx)
	if err != nil {
		return nil, describeRunError(callCtx, ex, m, err, "starting")
	}
	defer func() {
		if hook := m.rt.opts.InspectMemory; hook != nil {
			if mem := inst.Memory(); mem != nil {
				if b, ok := mem.Read(0, mem.Size()); ok {
					hook(m.name, b)
				}
			}
		}
		_ = inst.Close(context.WithoutCancel(ctx))
	}()
	out, err := m.callExecute(callCtx, ex, inst, input)
	ex.flush(callCtx)
	if err != nil {
		return nil, describeRunError(callCtx, ex, m, err, "running")
	}
	return out, nil
}

func (m *Module) callExecute(ctx context.Context, ex *execution, inst api.Module, input []byte) ([]byte, error) {
	res, err := inst.ExportedFunction(ExportAlloc).Call(ctx, uint64(len(input)))
	if err != nil {
		return nil, err
	}
	ptr := uint32(res[0])
	if !inst.Memory().Write(ptr, input) {
		ex.kill = "it broke the ABI: hearth_alloc returned a buffer outside its memory"
		return nil, errors.New(ex.kill)
	}
	res, err = inst.ExportedFunction(ExportExecute).Call(ctx, uint64(ptr), uint64(len(input)))
	if err != nil {
		return nil, err
	}
	outPtr, n := unpack(res[0])
	// The envelope escapes the output: allow for JSON's worst case.
	if limit := 6*m.limits.MaxOutputBytes + 64<<10; int(n) > limit {
		ex.kill = fmt.Sprintf("its output of %d bytes exceeds the %d-byte limit", n, m.limits.MaxOutputBytes)
		return nil, errors.New(ex.kill)
	}
	b, ok := inst.Memory().Read(outPtr, n)
	if !ok {
		ex.kill = "it broke the ABI: execute returned a range outside its memory"
		return nil, errors.New(ex.kill)
	}
	return append([]byte(nil), b...), nil
}

// describeRunError turns what stopped a guest into a sentence for the
// model and the audit log.
func describeRunError(ctx context.Context, ex *execution, m *Module, err error, phase string) error {
	ex.flush(ctx)
	var exit *sys.ExitError
	stopped := func(why string) error { return fmt.Errorf("stopped while %s: %s", phase, why) }
	switch {
	case ex.kill != "":
		return stopped(ex.kill)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		ex.kill = fmt.Sprintf("it ran longer than its %s time limit", m.limits.Timeout)
		return stopped(ex.kill)
	case ctx.Err() != nil:
		ex.kill = "the call was cancelled"
		return stopped(ex.kill)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		ex.kill = fmt.Sprintf("it ran longer than its %s time limit", m.limits.Timeout)
		return stopped(ex.kill)
	}
	if strings.Contains(ex.crash, "out of memory") {
		ex.kill = fmt.Sprintf("it ran out of memory (limit %d MiB)", m.limits.MemoryPages*pageSize>>20)
		return stopped(ex.kill)
	}
	what := firstLine(err.Error())
	if errors.As(err, &exit) {
		if ex.exited && exit.ExitCode() == 0 {
			return fmt.Errorf("it exited while %s without returning a result", phase)
		}
		what = fmt.Sprintf("exit code %d", exit.ExitCode())
	}
	if ex.crash != "" {
		what += ": " + ex.crash
	}
	what, _ = ex.det.Redact(what)
	return fmt.Errorf("it crashed while %s (%s)", phase, what)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), " (recovered by wazero)")
}

// truncate cuts s to at most n bytes at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
