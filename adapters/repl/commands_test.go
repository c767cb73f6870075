package repl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// fakeAdmin records calls; memory, routines and heartbeat come from
// UnavailableAdmin unless a test sets them.
type fakeAdmin struct {
	UnavailableAdmin
	mu    sync.Mutex
	calls []string
	model string
}

func (a *fakeAdmin) record(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf(format, args...))
}

func (a *fakeAdmin) Status(context.Context) ([]StatusField, error) {
	a.record("Status")
	return []StatusField{{"version", "v0.1"}, {"active sessions", "3"}}, nil
}

func (a *fakeAdmin) Model(context.Context) (string, error) {
	a.record("Model")
	return a.model, nil
}

func (a *fakeAdmin) SetModel(_ context.Context, name string) error {
	a.record("SetModel %s", name)
	a.model = name
	return nil
}

func (a *fakeAdmin) Pairings(context.Context) ([]engine.PairingRequest, error) {
	a.record("Pairings")
	exp := time.Date(2030, 1, 1, 12, 42, 0, 0, time.UTC)
	return []engine.PairingRequest{
		{Code: "ABCD2345", Channel: "webhook", PlatformID: "alice", DisplayName: "Alice\x1b[31m", ExpiresAt: exp},
		{Code: "WXYZ6789", Channel: "telegram", PlatformID: "123456789", ExpiresAt: exp.Add(-40 * time.Minute)},
	}, nil
}

func (a *fakeAdmin) ApprovePairing(_ context.Context, code string) (engine.PairingRequest, error) {
	a.record("ApprovePairing %s", code)
	if code != "ABCD2345" {
		return engine.PairingRequest{}, fmt.Errorf("pairing %s: %w", code, engine.ErrNotFound)
	}
	return engine.PairingRequest{Code: code, Channel: "webhook", PlatformID: "alice", UserID: "u-alice"}, nil
}

func (a *fakeAdmin) DenyPairing(_ context.Context, code string) (engine.PairingRequest, error) {
	a.record("DenyPairing %s", code)
	return engine.PairingRequest{Code: code, Channel: "webhook", PlatformID: "mallory"}, nil
}

func (a *fakeAdmin) Users(context.Context) ([]engine.User, error) {
	a.record("Users")
	return []engine.User{
		{ID: "u-owner", Name: "Owner", Role: engine.RoleOwner},
		{ID: "u-alice-long-id", Name: "Alice", Role: engine.RoleMember, Timezone: "Europe/Paris"},
	}, nil
}

func (a *fakeAdmin) Sessions(_ context.Context, limit int) ([]engine.Session, error) {
	a.record("Sessions %d", limit)
	return []engine.Session{{ID: "s1", UserID: "u-owner", Address: engine.Address{Channel: "repl", Conversation: "console"}, Active: true}}, nil
}

func (a *fakeAdmin) Audit(_ context.Context, limit int) ([]engine.AuditEntry, error) {
	a.record("Audit %d", limit)
	return []engine.AuditEntry{{Kind: "tool", Tool: "time", Outcome: "ok", Duration: 1500 * time.Microsecond}}, nil
}

func (a *fakeAdmin) Channels(context.Context) ([]ChannelInfo, error) {
	a.record("Channels")
	return []ChannelInfo{{Name: "webhook", Health: engine.ChannelHealth{State: "connected"}}}, nil
}

func (a *fakeAdmin) Heartbeat(_ context.Context, action string) (string, error) {
	a.record("Heartbeat %s", action)
	return "heartbeat " + action + "d", nil
}

func (a *fakeAdmin) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func runCommands(t *testing.T, admin Admin, input string) (out, diag string, sink *fakeSink) {
	t.Helper()
	o, d := &syncBuffer{}, &syncBuffer{}
	r := newTestREPL(t, Options{
		In: strings.NewReader(input), Out: o, Err: d, Admin: admin,
		Now: func() time.Time { return time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC) },
	})
	sink = newFakeSink(nil)
	sink.answer = func(in engine.Inbound) {
		r.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "ok " + in.Text, Final: true})
	}
	runREPL(t, r, sink)
	return o.String(), d.String(), sink
}

func TestSlashCommandsCallAdmin(t *testing.T) {
	admin := &fakeAdmin{model: "small"}
	input := strings.Join([]string{
		"/status", "/model", "/model big", "/pair list", "/pair approve abcd2345", "/pair deny WXYZ6789",
		"/users", "/sessions", "/sessions 5", "/audit 3", "/channels", "/heartbeat pause", "/heartbeat",
	}, "\n") + "\n"
	out, diag, sink := runCommands(t, admin, input)

	want := []string{
		"Status", "Model", "SetModel big", "Pairings", "ApprovePairing ABCD2345", "DenyPairing WXYZ6789",
		"Users", "Sessions 20", "Sessions 5", "Audit 3", "Channels", "Heartbeat pause", "Heartbeat ",
	}
	if got := admin.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("admin calls = %q\nwant %q", got, want)
	}
	if texts := sink.texts(); len(texts) != 0 {
		t.Fatalf("local commands reached the engine: %q", texts)
	}
	if diag != "" {
		t.Fatalf("unexpected diagnostics: %q", diag)
	}
	for _, s := range []string{
		"version:          v0.1\nactive sessions:  3\n",
		"model: small\n", "model set to big\n",
		"approved ABCD2345: webhook alice is now user u-alice\n",
		"denied WXYZ6789: webhook mallory\n",
		"heartbeat paused\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("a display name's escape sequence reached the terminal")
	}
}

func TestTablesAreAligned(t *testing.T) {
	tests := []struct {
		cmd  string
		want string
	}{
		{"/users", "" +
			"ID               NAME   ROLE    TIMEZONE      CREATED\n" +
			"u-owner          Owner  owner   -             -\n" +
			"u-alice-long-id  Alice  member  Europe/Paris  -\n"},
		{"/pair list", "" +
			"CODE      CHANNEL   SENDER     NAME       EXPIRES\n" +
			"ABCD2345  webhook   alice      Alice[31m  in 42m\n" +
			"WXYZ6789  telegram  123456789  -          in 2m\n"},
		{"/audit", "" +
			"TIME  KIND  TOOL  OUTCOME  DURATION  USER  DETAIL\n" +
			"-     tool  time  ok       2ms       -     -\n"},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			out, _, _ := runCommands(t, &fakeAdmin{}, tc.cmd+"\n")
			if out != tc.want {
				t.Fatalf("output:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
}

func TestEngineCommandsAndUnknownCommands(t *testing.T) {
	out, diag, sink := runCommands(t, &fakeAdmin{}, "/new\n/stop\n/frobnicate\n/sessions many\n/pair approve\n")
	if got := strings.Join(sink.texts(), ","); got != "/new,/stop" {
		t.Fatalf("engine got %q, want /new and /stop", got)
	}
	if out != "" {
		t.Fatalf("unexpected output: %q", out)
	}
	for _, s := range []string{
		"[notice] handled /new\n",
		"[notice] handled /stop\n",
		"[error] unknown command /frobnicate; type /help for the list\n",
		`[error] /sessions: N must be a number from 1 to 1000, got "many"`,
		"[error] usage: /pair list | /pair approve CODE | /pair deny CODE\n",
	} {
		if !strings.Contains(diag, s) {
			t.Errorf("diagnostics lack %q:\n%s", s, diag)
		}
	}
}

func TestUnavailableFeaturesAreReportedClearly(t *testing.T) {
	_, diag, _ := runCommands(t, nil, "/memory search kitchen  plans\n/routines\n/heartbeat run\n/users\n")
	for _, s := range []string{
		"[notice] memory search: not available yet",
		"[notice] routines: not available yet",
		"[notice] heartbeat: not available yet",
		"[notice] users: not available yet",
	} {
		if !strings.Contains(diag, s) {
			t.Errorf("diagnostics lack %q:\n%s", s, diag)
		}
	}
}

// memoryAdmin answers memory search.
type memoryAdmin struct {
	fakeAdmin
	query string
}

func (a *memoryAdmin) SearchMemory(_ context.Context, q string) ([]MemoryHit, error) {
	a.query = q
	return []MemoryHit{{Path: "notes/kitchen.md", Rank: 1, Method: "both", Snippet: "new\tcabinets"}}, nil
}

func TestMemorySearchKeepsTheQuery(t *testing.T) {
	a := &memoryAdmin{}
	out, _, _ := runCommands(t, a, "/memory search kitchen  plans\n")
	if a.query != "kitchen  plans" {
		t.Fatalf("query = %q", a.query)
	}
	want := "RANK  PATH              FOUND BY  EXCERPT\n1     notes/kitchen.md  both      new cabinets\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}

// failingAdmin fails a command with an ordinary error.
type failingAdmin struct{ UnavailableAdmin }

func (failingAdmin) ApprovePairing(context.Context, string) (engine.PairingRequest, error) {
	return engine.PairingRequest{}, errors.New("no pending pairing with code NOPE2345")
}

func TestAdminErrorsArePrinted(t *testing.T) {
	_, diag, _ := runCommands(t, failingAdmin{}, "/pair approve nope2345\n")
	if want := "[error] pair approve: no pending pairing with code NOPE2345\n"; diag != want {
		t.Fatalf("diagnostics = %q, want %q", diag, want)
	}
}

func TestQuitEndsInput(t *testing.T) {
	_, _, sink := runCommands(t, &fakeAdmin{}, "first\n/quit\nnever sent\n")
	if got := strings.Join(sink.texts(), ","); got != "first" {
		t.Fatalf("engine got %q", got)
	}
}
