package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
)

// maxAuditLimit bounds `hearth audit --limit`.
const maxAuditLimit = 10000

// runAudit prints the audit log, newest first: tool calls (with their
// HTTP requests, blocked ones marked), safety findings, approvals.
func runAudit(ctx context.Context, e env) error {
	var (
		tool, since, kind, user string
		limit                   int
	)
	b, args, err := openAdmin(ctx, e, "audit", func(fs *pflag.FlagSet) {
		fs.StringVar(&tool, "tool", "", "only entries of this tool (or safety source)")
		fs.StringVar(&since, "since", "", "only entries since a duration ago (90m, 24h, 7d) or a date (2026-11-24)")
		fs.StringVar(&kind, "kind", "", "only entries of this kind: tool, safety, approval, pairing")
		fs.StringVar(&user, "user", "", "only entries of this user, by id or name")
		fs.IntVar(&limit, "limit", 50, fmt.Sprintf("at most this many entries (1 to %d)", maxAuditLimit))
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) != 0 {
		return usageError{"usage: hearth audit [--tool T] [--since D] [--kind K] [--user U] [--limit N]"}
	}
	if limit < 1 || limit > maxAuditLimit {
		return usageError{fmt.Sprintf("--limit must be between 1 and %d, got %d", maxAuditLimit, limit)}
	}
	f := engine.AuditFilter{Tool: strings.TrimSpace(tool), Kind: strings.TrimSpace(kind), Limit: limit}
	if since != "" {
		if f.Since, err = sandbox.ParseSince(since, time.Now()); err != nil {
			return usageError{err.Error()}
		}
	}
	if user != "" {
		u, err := b.FindUser(ctx, user)
		if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	entries, err := b.Store.ListAudit(ctx, f)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintln(e.stdout, "No audit entries.")
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tOUTCOME\tTOOL\tUSER\tDURATION\tDETAIL")
	for _, en := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.Time.Local().Format(time.DateTime), oneLine(en.Kind, 20),
			oneLine(en.Outcome, 20), oneLine(en.Tool, 40), oneLine(en.UserID, 40), en.Duration.Round(time.Millisecond), auditDetail(en))
	}
	return tw.Flush()
}

// auditDetail summarises an entry on one line: a tool call's error, its
// HTTP requests (blocked ones with the reason) and why the host stopped
// it; for other kinds the error or the recorded detail.
func auditDetail(en engine.AuditEntry) string {
	var parts []string
	if en.Error != "" {
		parts = append(parts, firstLine(en.Error))
	}
	var d sandbox.AuditDetail
	if en.Kind == "tool" && json.Unmarshal([]byte(en.Detail), &d) == nil {
		for _, r := range d.HTTP {
			status := fmt.Sprint(r.Status)
			switch {
			case r.Blocked != "":
				status = "BLOCKED " + r.Blocked
			case r.Failed != "":
				status = "failed: " + r.Failed
			}
			if len(r.Injected) > 0 {
				status += " (injected " + strings.Join(r.Injected, ", ") + ")"
			}
			parts = append(parts, r.Method+" "+r.URL+" -> "+status)
		}
		if d.Stopped != "" {
			parts = append(parts, "stopped: "+d.Stopped)
		}
	} else if en.Detail != "" {
		parts = append(parts, firstLine(en.Detail))
	}
	return oneLine(strings.Join(parts, "; "), 240)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
