package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// hostImports are the host functions of the "hearth" namespace with their
// core types; abi_test.go compares them with wit/tool.wit and the SDK.
var hostImports = map[string]signature{
	ImportLog:           {[]api.ValueType{i32, i32, i32}, nil},
	ImportNowMillis:     {nil, []api.ValueType{i64}},
	ImportWorkspaceRead: {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	ImportHTTPRequest:   {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	ImportSecretExists:  {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	ImportToolInvoke:    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	ImportResultTake:    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
}

// maxToolDepth bounds chains of tools invoking tools.
const maxToolDepth = 3

// instantiateHost registers the "hearth" host module in a wazero runtime.
func (r *Runtime) instantiateHost(ctx context.Context, wz wazero.Runtime) error {
	impl := map[string]api.GoModuleFunc{
		ImportLog:           r.hostLog,
		ImportNowMillis:     r.hostNowMillis,
		ImportWorkspaceRead: r.hostWorkspaceRead,
		ImportHTTPRequest:   r.hostHTTPRequest,
		ImportSecretExists:  r.hostSecretExists,
		ImportToolInvoke:    r.hostToolInvoke,
		ImportResultTake:    r.hostResultTake,
	}
	b := wz.NewHostModuleBuilder(HostModule)
	for name, sig := range hostImports {
		b.NewFunctionBuilder().WithGoModuleFunction(impl[name], sig.params, sig.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// mustExec returns the execution of a host call; a call without one (a
// guest calling the host from a context the host did not set up) is
// stopped.
func mustExec(ctx context.Context) *execution {
	ex := executionFrom(ctx)
	if ex == nil {
		panic(&abortError{reason: "host call outside an execution"})
	}
	return ex
}

var logLevels = [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func (r *Runtime) hostLog(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	level, ptr, n := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	ex.charge(int(n))
	keep := min(n, 4096)
	msg, _ := ex.read(m, ptr, keep, 4096)
	lvl := slog.LevelInfo
	if int(level) < len(logLevels) {
		lvl = logLevels[level]
	}
	ex.emit(ctx, lvl, string(msg))
}

func (r *Runtime) hostNowMillis(_ context.Context, _ api.Module, stack []uint64) {
	stack[0] = uint64(r.now().UnixMilli())
}

func (r *Runtime) hostResultTake(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	k := min(int(n), len(ex.pending))
	if k > 0 && !m.Memory().Write(ptr, ex.pending[:k]) {
		ex.abort(fmt.Sprintf("it broke the ABI: result_take pointed outside its memory (%d bytes at %#x)", k, ptr))
	}
	ex.pending = nil
	stack[0] = uint64(k)
}

// decodeRequest reads a JSON request of at most max bytes, refusing
// unknown fields; on failure it has already stored an error reply.
func decodeRequest(ex *execution, m api.Module, ptr, n uint32, max int, v any) (uint64, bool) {
	raw, ok := ex.read(m, ptr, n, max)
	if !ok {
		return ex.replyErr("invalid", fmt.Sprintf("the request is %d bytes; the limit is %d", n, max)), false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ex.replyErr("invalid", "the request is not valid JSON for this call: "+err.Error()), false
	}
	return 0, true
}

func (r *Runtime) hostWorkspaceRead(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	var req struct {
		Path string `json:"path"`
	}
	if n, ok := decodeRequest(ex, m, uint32(stack[0]), uint32(stack[1]), 8<<10, &req); !ok {
		stack[0] = n
		return
	}
	stack[0] = r.workspaceRead(ctx, ex, req.Path)
}

func (r *Runtime) workspaceRead(ctx context.Context, ex *execution, path string) uint64 {
	switch {
	case ex.loading:
		return ex.replyErr("unavailable", "the workspace is not available while the tool loads")
	case ex.mod.caps.Workspace == nil:
		return ex.replyErr("blocked", "this tool has no workspace access")
	}
	clean, err := cleanWorkspacePath(path)
	if err != nil {
		return ex.replyErr("blocked", err.Error())
	}
	if !ex.mod.caps.WorkspaceAllows(clean) {
		return ex.replyErr("blocked", fmt.Sprintf("%q is outside the workspace paths this tool may read", clean))
	}
	if r.opts.Workspace == nil {
		return ex.replyErr("unavailable", "this Hearth has no workspace")
	}
	text, err := r.opts.Workspace.ReadDocument(ctx, ex.inv.UserID, clean)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return ex.replyErr("not_found", fmt.Sprintf("%q does not exist", clean))
	case err != nil:
		r.log.Warn("workspace read failed", "tool", ex.mod.name, "path", clean, "err", err)
		return ex.replyErr("failed", fmt.Sprintf("%q could not be read", clean))
	}
	if len(text) > ex.lim.MaxResponseBytes {
		return ex.replyErr("limit", fmt.Sprintf("%q is %d bytes; the limit is %d", clean, len(text), ex.lim.MaxResponseBytes))
	}
	// The tool must never see a secret value, even one the user pasted
	// into a note.
	text, _ = ex.det.Redact(text)
	return ex.reply(map[string]string{"content": text})
}

// cleanWorkspacePath accepts relative slash paths without empty, "." or
// ".." segments, NUL or backslashes.
func cleanWorkspacePath(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("empty workspace path")
	case len(p) > 1024:
		return "", fmt.Errorf("workspace path longer than 1024 bytes")
	case strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00"):
		return "", fmt.Errorf("workspace path %q must be relative, without backslashes or NUL", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("workspace path %q has an empty, . or .. segment", p)
		}
	}
	return p, nil
}

func (r *Runtime) hostHTTPRequest(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	var req httpgate.Request
	// Body is base64 in the JSON: allow for the expansion.
	if n, ok := decodeRequest(ex, m, uint32(stack[0]), uint32(stack[1]), ex.lim.MaxRequestBytes*4/3+64<<10, &req); !ok {
		stack[0] = n
		return
	}
	stack[0] = r.httpRequest(ctx, ex, req)
}

func (r *Runtime) httpRequest(ctx context.Context, ex *execution, req httpgate.Request) uint64 {
	switch {
	case ex.loading:
		return ex.replyErr("unavailable", "the network is not available while the tool loads")
	case !ex.mod.caps.MakesHTTPRequests():
		return ex.replyErr("blocked", "this tool has no network access")
	case ex.httpCount >= ex.lim.MaxHTTPRequests:
		return ex.replyErr("limit", fmt.Sprintf("a call may make at most %d HTTP requests", ex.lim.MaxHTTPRequests))
	}
	if !ex.mod.limiter.allow(ex.inv.UserID, "http") {
		return ex.replyErr("limit", fmt.Sprintf("rate limit: at most %d HTTP requests per minute", ex.mod.caps.RateLimit.HTTPPerMinute))
	}
	resp, recs, err := ex.mod.gate.Do(ctx, ex.mod.policy(ex), req)
	ex.httpCount += max(len(recs), 1)
	ex.requests = append(ex.requests, recs...)
	for _, rec := range recs {
		ex.httpBytes += int64(rec.RequestBytes + rec.ResponseBytes)
	}
	var be *httpgate.BlockedError
	var fe *httpgate.FailedError
	switch {
	case errors.As(err, &be):
		r.log.Warn("sandbox blocked a request", "tool", ex.mod.name, "user", ex.inv.UserID, "stage", be.Stage, "reason", be.Reason)
		return ex.replyErr("blocked", be.Reason)
	case errors.As(err, &fe):
		return ex.replyErr("failed", fe.Reason)
	case err != nil:
		return ex.replyErr("failed", "the request failed")
	}
	return ex.reply(resp)
}

// policy builds the network policy of an execution.
func (m *Module) policy(ex *execution) *httpgate.Policy {
	p := &httpgate.Policy{
		Caps: &m.caps, Detector: ex.det,
		MaxRequestBytes: ex.lim.MaxRequestBytes, MaxResponseBytes: ex.lim.MaxResponseBytes,
		UserAgent: "Hearth-Sandbox/1 (tool " + m.name + ")",
	}
	if src := m.rt.opts.Secrets; src != nil {
		user := ex.inv.UserID
		p.Secret = func(ctx context.Context, name string) (string, bool, error) {
			v, err := src.Use(ctx, user, name)
			if errors.Is(err, engine.ErrNotFound) {
				return "", false, nil
			}
			return v, err == nil, err
		}
	}
	return p
}

func (r *Runtime) hostSecretExists(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	raw, ok := ex.read(m, uint32(stack[0]), uint32(stack[1]), 256)
	stack[0] = 0
	if !ok || ex.loading || r.opts.Secrets == nil {
		return
	}
	name := string(raw)
	granted := false
	for _, s := range ex.mod.caps.Secrets {
		granted = granted || s.Name == name
	}
	if !granted {
		return // secrets the tool may not use do not exist for it
	}
	if ok, err := r.opts.Secrets.Exists(ctx, ex.inv.UserID, name); err == nil && ok {
		stack[0] = 1
	}
}

func (r *Runtime) hostToolInvoke(ctx context.Context, m api.Module, stack []uint64) {
	ex := mustExec(ctx)
	var req struct {
		Alias  string          `json:"alias"`
		Params json.RawMessage `json:"params"`
	}
	if n, ok := decodeRequest(ex, m, uint32(stack[0]), uint32(stack[1]), 256<<10, &req); !ok {
		stack[0] = n
		return
	}
	stack[0] = r.toolInvoke(ctx, ex, req.Alias, req.Params)
}

func (r *Runtime) toolInvoke(ctx context.Context, ex *execution, alias string, params json.RawMessage) uint64 {
	name, granted := ex.mod.caps.ToolFor(alias)
	switch {
	case ex.loading:
		return ex.replyErr("unavailable", "tools are not available while the tool loads")
	case !granted:
		return ex.replyErr("blocked", fmt.Sprintf("this tool may not invoke %q (not in its capabilities)", alias))
	case ex.toolCount >= ex.lim.MaxToolInvocations:
		return ex.replyErr("limit", fmt.Sprintf("a call may invoke at most %d tools", ex.lim.MaxToolInvocations))
	case ex.depth+1 > maxToolDepth:
		return ex.replyErr("limit", fmt.Sprintf("tools may invoke tools at most %d levels deep", maxToolDepth))
	case r.opts.Tools == nil:
		return ex.replyErr("unavailable", "no tool registry is connected")
	}
	ex.toolCount++
	info, ok := r.opts.Tools.Info(name)
	if !ok {
		return ex.replyErr("not_found", fmt.Sprintf("tool %q is not installed", name))
	}
	if info.NeedsApproval || info.Sensitive {
		return ex.replyErr("blocked", fmt.Sprintf("tool %q needs the owner's approval and cannot be invoked by another tool", name))
	}
	// Parameters go to the other tool as the model would send them: they
	// are scanned for leaks like an HTTP body.
	if f := ex.det.Scan(string(params)); leak.Strictest(f) == leak.ActionBlock || leak.Strictest(f) == leak.ActionRedact {
		return ex.replyErr("blocked", "the parameters carry "+leak.Describe(f))
	}
	inv := ex.inv
	inv.Args = params
	inv.CallID = ex.inv.CallID + "/" + alias
	ex.invoked = append(ex.invoked, name)
	res, err := r.opts.Tools.Execute(context.WithValue(ctx, depthKey{}, ex.depth+1), name, inv)
	if err != nil {
		return ex.replyErr("failed", fmt.Sprintf("tool %q did not run: the call was cancelled", name))
	}
	out, _ := ex.det.Redact(res.Content)
	return ex.reply(map[string]any{"output": out, "is_error": res.IsError})
}
