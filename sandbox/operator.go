package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Operator functions behind `hearth tools install|ls|run` and
// `hearth audit`; the composition root wires them to the CLI.

// ErrDeclined is returned when the operator does not confirm an install.
var ErrDeclined = errors.New("sandbox: installation declined")

// Review is what an operator is shown before a tool is installed.
type Review struct {
	Name        string
	Description string
	SHA256      string
	// Capabilities lists every grant in plain words (caps.Describe).
	Capabilities []string
	Limits       Limits
	Parameters   json.RawMessage
	// Replaces reports that the tools directory has a tool of this name.
	Replaces bool
}

// String renders the review for a terminal.
func (r Review) String() string {
	var b strings.Builder
	verb := "Install"
	if r.Replaces {
		verb = "Replace"
	}
	fmt.Fprintf(&b, "%s tool %q (sha256 %s)\n  %s\n\nIt asks for:\n", verb, r.Name, r.SHA256[:16], r.Description)
	for _, c := range r.Capabilities {
		b.WriteString("  - " + c + "\n")
	}
	fmt.Fprintf(&b, "Limits per call: %d MiB memory, %s, %d HTTP requests, %d KiB output\n",
		r.Limits.MemoryPages*pageSize>>20, r.Limits.Timeout, r.Limits.MaxHTTPRequests, r.Limits.MaxOutputBytes>>10)
	return b.String()
}

// Install checks the module at wasmPath (with NAME.capabilities.json
// beside it) by loading it fully, shows the review to confirm, and only
// when confirmed copies both files into toolsDir: the capabilities file
// first, then the module, each written to a temporary file and renamed,
// so a watching Loader never sees half a tool.
func Install(ctx context.Context, rt *Runtime, wasmPath, toolsDir string, confirm func(Review) (bool, error)) (Review, error) {
	if confirm == nil {
		return Review{}, errors.New("sandbox: install needs a confirmation step")
	}
	m, err := rt.LoadFile(ctx, wasmPath)
	if err != nil {
		return Review{}, err
	}
	defer m.Close(context.WithoutCancel(ctx))
	c := m.Capabilities()
	rev := Review{Name: m.name, Description: m.info.Description, SHA256: m.hash, Capabilities: c.Describe(),
		Limits: m.limits, Parameters: m.info.Parameters}
	if err := checkDir(toolsDir); err != nil {
		return rev, err
	}
	dst := filepath.Join(toolsDir, m.name+".wasm")
	if _, err := os.Stat(dst); err == nil {
		rev.Replaces = true
	}
	ok, err := confirm(rev)
	if err != nil {
		return rev, err
	}
	if !ok {
		return rev, ErrDeclined
	}
	for _, f := range []struct{ src, dst string }{
		{CapabilitiesPath(wasmPath), CapabilitiesPath(dst)},
		{wasmPath, dst},
	} {
		if err := copyAtomic(f.src, f.dst); err != nil {
			return rev, fmt.Errorf("sandbox: install %s: %w", m.name, err)
		}
	}
	return rev, nil
}

func copyAtomic(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// Inspect loads every tool of dir without registering it anywhere and
// reports what `hearth tools ls` shows when no server is running: each
// tool's description, hash and grants, or why it is refused.
func Inspect(ctx context.Context, rt *Runtime, dir string) ([]ToolStatus, error) {
	l := NewLoader(rt, dir, discardRegistrar{}, LoaderOptions{})
	defer l.Close(context.WithoutCancel(ctx))
	if _, err := l.Scan(ctx); err != nil {
		return nil, err
	}
	return l.Status(), nil
}

// discardRegistrar accepts every tool and keeps none.
type discardRegistrar struct{}

func (discardRegistrar) Register(engine.Tool) error { return nil }
func (discardRegistrar) Replace(engine.Tool) error  { return nil }
func (discardRegistrar) Unregister(string) bool     { return true }

// Run loads the tool at wasmPath and runs one call through the full
// sandbox, as `hearth tools run NAME --params JSON` does: the parameters
// are checked against the tool's schema first, and a problem with them
// is a tool error, like any other the model would see.
func Run(ctx context.Context, rt *Runtime, wasmPath string, inv engine.ToolInvocation) (engine.ToolResult, error) {
	m, err := rt.LoadFile(ctx, wasmPath)
	if err != nil {
		return engine.ToolResult{}, err
	}
	defer m.Close(context.WithoutCancel(ctx))
	if len(bytes.TrimSpace(inv.Args)) == 0 {
		inv.Args = json.RawMessage("{}")
	}
	if problem := validateArgs(m.info.Parameters, inv.Args); problem != "" {
		return m.errorResult("invalid parameters: " + problem), nil
	}
	return m.Execute(ctx, inv)
}

// validateArgs checks args against a JSON Schema; "" when valid.
func validateArgs(schema, args json.RawMessage) string {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return "the tool's schema does not parse"
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("tool.json", doc); err != nil {
		return "the tool's schema is invalid"
	}
	sch, err := c.Compile("tool.json")
	if err != nil {
		return "the tool's schema is invalid"
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return "not valid JSON: " + err.Error()
	}
	if err := sch.Validate(v); err != nil {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return ""
}

// ParseSince reads `hearth audit --since D`: a duration back from now
// ("90m", "24h", "7d") or a date or time ("2026-11-24", RFC 3339).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && days >= 0 && fmt.Sprintf("%dd", days) == s {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, now.Location()); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (90m, 24h, 7d), a date (2026-11-24) or an RFC 3339 time", s)
}

// WriteAudit prints audit entries one per line for `hearth audit`, with
// the blocked requests of tool calls under each.
func WriteAudit(w io.Writer, entries []engine.AuditEntry) error {
	for _, e := range entries {
		line := fmt.Sprintf("%s  %-8s %-7s %-12s %-10s %6s", e.Time.Format(time.RFC3339), e.Kind, e.Outcome, e.Tool, e.UserID, e.Duration.Round(time.Millisecond))
		if e.Error != "" {
			line += "  " + firstLine(e.Error)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
		var d AuditDetail
		if e.Kind == "tool" && json.Unmarshal([]byte(e.Detail), &d) == nil {
			for _, r := range d.HTTP {
				status := fmt.Sprint(r.Status)
				if r.Blocked != "" {
					status = "BLOCKED " + r.Blocked
				}
				if _, err := fmt.Fprintf(w, "    %s %s -> %s\n", r.Method, r.URL, status); err != nil {
					return err
				}
			}
			if d.Stopped != "" {
				if _, err := fmt.Fprintf(w, "    stopped: %s\n", d.Stopped); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
