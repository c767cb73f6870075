package sandbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox/httpgate"
)

// AuditDetail is the JSON in engine.AuditEntry.Detail for a tool call:
// every HTTP hop (with blocked reasons and injected secret names, never
// values), refused WASI calls, the tools it invoked, its log volume and
// why the host stopped it.
type AuditDetail struct {
	HTTP        []httpgate.Record `json:"http,omitempty"`
	Blocked     []string          `json:"blocked,omitempty"`
	DeniedWASI  map[string]int    `json:"denied_wasi,omitempty"`
	Invoked     []string          `json:"invoked,omitempty"`
	LogBytes    int               `json:"log_bytes,omitempty"`
	Stopped     string            `json:"stopped,omitempty"`
	ModuleSHA   string            `json:"module_sha256"`
	MemoryLimit uint32            `json:"memory_mib"`
}

// audit records one execution; failures are logged, never returned (the
// call has happened either way).
func (m *Module) audit(ctx context.Context, ex *execution, res engine.ToolResult, outcome string, d time.Duration) {
	if m.rt.opts.Audit == nil {
		return
	}
	input, _ := ex.det.Redact(string(ex.inv.Args))
	detail := AuditDetail{HTTP: ex.requests, DeniedWASI: ex.denied, Invoked: ex.invoked, LogBytes: ex.logBytes,
		Stopped: ex.kill, ModuleSHA: m.hash, MemoryLimit: m.limits.MemoryPages * pageSize >> 20}
	bytes := int64(len(res.Content)) + ex.httpBytes
	for _, r := range ex.requests {
		if r.Blocked != "" {
			detail.Blocked = append(detail.Blocked, r.Blocked)
		}
	}
	// A tool that failed after a refused request was blocked; one that
	// coped is ok, with the refusals in Detail.
	if outcome == "error" && len(detail.Blocked) > 0 {
		outcome = "blocked"
	}
	raw, _ := json.Marshal(detail)
	e := engine.AuditEntry{
		Time:      m.rt.now(),
		Kind:      "tool",
		UserID:    ex.inv.UserID,
		SessionID: ex.inv.SessionID,
		Tool:      m.name,
		Input:     truncate(input, 4096),
		Output:    truncate(res.Content, 2048),
		Outcome:   outcome,
		Duration:  d,
		Bytes:     bytes,
		Detail:    string(raw),
	}
	if res.IsError {
		e.Error = truncate(res.Content, 512)
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := m.rt.opts.Audit.RecordAudit(actx, e); err != nil {
		m.rt.log.Error("audit record failed", "tool", m.name, "err", err)
	}
}
