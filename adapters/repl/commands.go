package repl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errQuit ends input like Ctrl-D (/quit, /exit).
var errQuit = errors.New("quit")

// Default and maximum row counts of list commands.
const (
	defaultListLen = 20
	maxListLen     = 1000
)

// helpText lists the console commands.
const helpText = `Commands (anything else is sent to the assistant):
  /help                     this list
  /new                      start a new conversation (handled by the engine)
  /stop                     stop the running answer (also Ctrl-C while one runs)
  /status                   what is running
  /model [NAME]             show or switch the model of this conversation
  /pair list                pending pairing requests
  /pair approve CODE        let the sender of CODE talk to the assistant
  /pair deny CODE           refuse the sender of CODE
  /users                    users and their roles
  /sessions [N]             the N most recent sessions (default 20)
  /audit [N]                the N newest audit entries (default 20)
  /channels                 channel health
  /memory search QUERY      search your memory
  /routines                 your routines
  /heartbeat [run|pause|resume]
                            show, run now, pause or resume the heartbeat
  /quit                     leave (also Ctrl-D)`

// command runs a local slash command. It reports false for commands the
// engine handles (/new, /stop), which are then sent as ordinary text.
// Command failures are printed, not returned; the error result is only
// errQuit.
func (r *REPL) command(ctx context.Context, line string) (bool, error) {
	fields := strings.Fields(line)
	name, args := strings.ToLower(fields[0]), fields[1:]
	switch name {
	case "/new", "/stop":
		return false, nil
	case "/quit", "/exit":
		return true, errQuit
	case "/help", "/?":
		r.say(helpText)
	case "/status":
		r.cmdStatus(ctx)
	case "/model":
		r.cmdModel(ctx, args)
	case "/pair", "/pairing":
		r.cmdPair(ctx, args)
	case "/users":
		r.cmdUsers(ctx)
	case "/sessions":
		if n, ok := r.listLen(name, args); ok {
			r.cmdSessions(ctx, n)
		}
	case "/audit":
		if n, ok := r.listLen(name, args); ok {
			r.cmdAudit(ctx, n)
		}
	case "/channels":
		r.cmdChannels(ctx)
	case "/memory":
		r.cmdMemory(ctx, line, args)
	case "/routines":
		r.cmdRoutines(ctx)
	case "/heartbeat":
		r.cmdHeartbeat(ctx, args)
	default:
		r.diag(fmt.Sprintf("[error] unknown command %s; type /help for the list", fields[0]))
	}
	return true, nil
}

// listLen parses the optional row count of a list command.
func (r *REPL) listLen(name string, args []string) (int, bool) {
	switch len(args) {
	case 0:
		return defaultListLen, true
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > maxListLen {
			r.diag(fmt.Sprintf("[error] %s: N must be a number from 1 to %d, got %q", name, maxListLen, args[0]))
			return 0, false
		}
		return n, true
	default:
		r.diag(fmt.Sprintf("[error] usage: %s [N]", name))
		return 0, false
	}
}

// fail prints an Admin error, plainly for features not available yet.
func (r *REPL) fail(what string, err error) {
	if errors.Is(err, ErrNotAvailable) {
		r.diag(fmt.Sprintf("[notice] %s: not available yet in this build or configuration", what))
		return
	}
	r.diag(fmt.Sprintf("[error] %s: %v", what, err))
}

func (r *REPL) cmdStatus(ctx context.Context) {
	fields, err := r.admin.Status(ctx)
	if err != nil {
		r.fail("status", err)
		return
	}
	t := newTable()
	for _, f := range fields {
		t.row(f.Name+":", f.Value)
	}
	r.say(t.String())
}

func (r *REPL) cmdModel(ctx context.Context, args []string) {
	switch len(args) {
	case 0:
		m, err := r.admin.Model(ctx)
		if err != nil {
			r.fail("model", err)
			return
		}
		r.say("model: " + m)
	case 1:
		if err := r.admin.SetModel(ctx, args[0]); err != nil {
			r.fail("model", err)
			return
		}
		r.say("model set to " + args[0])
	default:
		r.diag("[error] usage: /model [NAME]")
	}
}

func (r *REPL) cmdPair(ctx context.Context, args []string) {
	if len(args) == 0 {
		r.diag("[error] usage: /pair list | /pair approve CODE | /pair deny CODE")
		return
	}
	switch sub := strings.ToLower(args[0]); {
	case sub == "list" && len(args) == 1:
		reqs, err := r.admin.Pairings(ctx)
		if err != nil {
			r.fail("pair list", err)
			return
		}
		if len(reqs) == 0 {
			r.say("no pending pairing requests")
			return
		}
		now := r.now()
		t := newTable("CODE", "CHANNEL", "SENDER", "NAME", "EXPIRES")
		for _, p := range reqs {
			expires := "expired"
			if left := p.ExpiresAt.Sub(now); left > 0 {
				expires = "in " + ago(left)
			}
			t.row(p.Code, p.Channel, p.PlatformID, p.DisplayName, expires)
		}
		r.say(t.String())
	case (sub == "approve" || sub == "deny") && len(args) == 2:
		code := strings.ToUpper(args[1])
		if sub == "approve" {
			p, err := r.admin.ApprovePairing(ctx, code)
			if err != nil {
				r.fail("pair approve", err)
				return
			}
			r.say(fmt.Sprintf("approved %s: %s %s is now user %s", code, p.Channel, cell(p.PlatformID), p.UserID))
			return
		}
		p, err := r.admin.DenyPairing(ctx, code)
		if err != nil {
			r.fail("pair deny", err)
			return
		}
		r.say(fmt.Sprintf("denied %s: %s %s", code, p.Channel, cell(p.PlatformID)))
	default:
		r.diag("[error] usage: /pair list | /pair approve CODE | /pair deny CODE")
	}
}

func (r *REPL) cmdUsers(ctx context.Context) {
	users, err := r.admin.Users(ctx)
	if err != nil {
		r.fail("users", err)
		return
	}
	t := newTable("ID", "NAME", "ROLE", "TIMEZONE", "CREATED")
	for _, u := range users {
		t.row(u.ID, u.Name, string(u.Role), u.Timezone, stamp(u.CreatedAt))
	}
	r.say(t.String())
}

func (r *REPL) cmdSessions(ctx context.Context, n int) {
	sessions, err := r.admin.Sessions(ctx, n)
	if err != nil {
		r.fail("sessions", err)
		return
	}
	t := newTable("ID", "USER", "CHANNEL", "CONVERSATION", "ACTIVE", "MODEL", "UPDATED")
	for _, s := range sessions {
		active := "no"
		if s.Active {
			active = "yes"
		}
		conv := s.Address.Conversation
		if s.Address.Thread != "" {
			conv += "/" + s.Address.Thread
		}
		t.row(s.ID, s.UserID, s.Address.Channel, conv, active, s.Model, stamp(s.UpdatedAt))
	}
	r.say(t.String())
}

func (r *REPL) cmdAudit(ctx context.Context, n int) {
	entries, err := r.admin.Audit(ctx, n)
	if err != nil {
		r.fail("audit", err)
		return
	}
	t := newTable("TIME", "KIND", "TOOL", "OUTCOME", "DURATION", "USER", "DETAIL")
	for _, e := range entries {
		detail := e.Detail
		if e.Error != "" {
			detail = e.Error
		}
		t.row(stamp(e.Time), e.Kind, e.Tool, e.Outcome, e.Duration.Round(1e6).String(), e.UserID, truncate(detail, 60))
	}
	r.say(t.String())
}

func (r *REPL) cmdChannels(ctx context.Context) {
	chans, err := r.admin.Channels(ctx)
	if err != nil {
		r.fail("channels", err)
		return
	}
	t := newTable("CHANNEL", "STATE", "LAST IN", "LAST OUT", "RESTARTS", "ERROR")
	for _, c := range chans {
		h := c.Health
		t.row(c.Name, h.State, stamp(h.LastInbound), stamp(h.LastOutbound), strconv.Itoa(h.Restarts), truncate(h.LastError, 60))
	}
	r.say(t.String())
}

func (r *REPL) cmdMemory(ctx context.Context, line string, args []string) {
	if len(args) < 2 || strings.ToLower(args[0]) != "search" {
		r.diag("[error] usage: /memory search QUERY")
		return
	}
	// The query is the rest of the line as typed, inner spacing kept.
	query := strings.TrimSpace(line[strings.Index(strings.ToLower(line), "search")+len("search"):])
	hits, err := r.admin.SearchMemory(ctx, query)
	if err != nil {
		r.fail("memory search", err)
		return
	}
	if len(hits) == 0 {
		r.say("no matches")
		return
	}
	t := newTable("RANK", "PATH", "FOUND BY", "EXCERPT")
	for _, h := range hits {
		t.row(strconv.Itoa(h.Rank), h.Path, h.Method, truncate(h.Snippet, 70))
	}
	r.say(t.String())
}

func (r *REPL) cmdRoutines(ctx context.Context) {
	routines, err := r.admin.Routines(ctx)
	if err != nil {
		r.fail("routines", err)
		return
	}
	if len(routines) == 0 {
		r.say("no routines")
		return
	}
	t := newTable("ID", "NAME", "SCHEDULE", "ENABLED", "NEXT RUN", "LAST RUN")
	for _, rt := range routines {
		enabled := "no"
		if rt.Enabled {
			enabled = "yes"
		}
		t.row(rt.ID, rt.Name, rt.Schedule, enabled, stamp(rt.NextRun), stamp(rt.LastRun))
	}
	r.say(t.String())
}

func (r *REPL) cmdHeartbeat(ctx context.Context, args []string) {
	action := ""
	switch {
	case len(args) == 0:
	case len(args) == 1 && (args[0] == "run" || args[0] == "pause" || args[0] == "resume"):
		action = args[0]
	default:
		r.diag("[error] usage: /heartbeat [run|pause|resume]")
		return
	}
	msg, err := r.admin.Heartbeat(ctx, action)
	if err != nil {
		r.fail("heartbeat", err)
		return
	}
	r.say(msg)
}
