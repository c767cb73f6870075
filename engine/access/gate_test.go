package access

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func newTestGate(t *testing.T, opts Options) (*Gate, *fakeStore, *clock) {
	t.Helper()
	st, clk := newFakeStore(), newClock()
	if opts.Store == nil {
		opts.Store = st
	}
	opts.Now = clk.Now
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g, st, clk
}

func dm(channel, sender, name string) engine.Inbound {
	return engine.Inbound{Channel: channel, MessageID: "m-" + sender, Conversation: "c-" + sender,
		Sender: engine.Sender{ID: sender, DisplayName: name}, Direct: true, Text: "hello"}
}

func group(channel, sender string, mentioned bool) engine.Inbound {
	return engine.Inbound{Channel: channel, MessageID: "g-" + sender, Conversation: "room",
		Sender: engine.Sender{ID: sender, DisplayName: sender}, Direct: false, Mentioned: mentioned, Text: "hi all"}
}

func TestNewOptions(t *testing.T) {
	st := newFakeStore()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no store", Options{}, "no store"},
		{"bad policy", Options{Store: st, GroupPolicy: map[string]string{"telegram": "sometimes"}}, `"sometimes"`},
		{"negative ttl", Options{Store: st, TTL: -time.Second}, "TTL"},
		{"negative max", Options{Store: st, MaxPending: -1}, "max pending"},
		{"empty allowlist entry", Options{Store: st, Allowlists: map[string][]string{"slack": {"U1", " "}}}, "entry 1 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New err = %v, want ErrInvalidOptions mentioning %q", err, tc.want)
			}
		})
	}
	g, err := New(Options{Store: st, GroupPolicy: map[string]string{"a": PolicyAll, "b": PolicyOff, "c": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if g.ttl != DefaultTTL || g.maxPending != DefaultMaxPending {
		t.Fatalf("defaults: ttl %s max %d", g.ttl, g.maxPending)
	}
	for ch, want := range map[string]string{"a": PolicyAll, "b": PolicyOff, "c": PolicyMention, "other": PolicyMention} {
		if got := g.GroupPolicy(ch); got != want {
			t.Errorf("GroupPolicy(%s) = %s, want %s", ch, got, want)
		}
	}
}

func TestCheckRules(t *testing.T) {
	opts := Options{
		Allowlists:  map[string][]string{"slack": {"UALLOW"}},
		GroupPolicy: map[string]string{"slack": PolicyAll, "discord": PolicyOff},
	}
	tests := []struct {
		name     string
		in       engine.Inbound
		known    bool // the sender is linked to a user beforehand
		want     Kind
		reason   string
		pairings int // pairing requests stored afterwards
	}{
		{"group without mention, known sender", group("telegram", "alice", false), true, Ignore, "without a mention", 0},
		{"group without mention, stranger gets no code", group("telegram", "eve", false), false, Ignore, "without a mention", 0},
		{"group with mention, known sender", group("telegram", "alice", true), true, Allow, "known identity", 0},
		{"group with mention, stranger gets a code", group("telegram", "eve", true), false, Pair, "new pairing code", 1},
		{"policy all, no mention, known", group("slack", "alice", false), true, Allow, "known identity", 0},
		{"policy all, no mention, stranger", group("slack", "eve", false), false, Pair, "new pairing code", 1},
		{"policy off, mention, known", group("discord", "alice", true), true, Ignore, "off", 0},
		{"policy off, stranger", group("discord", "eve", true), false, Ignore, "off", 0},
		{"policy off does not affect DMs", dm("discord", "alice", "Alice"), true, Allow, "known identity", 0},
		{"DM known", dm("telegram", "alice", "Alice"), true, Allow, "known identity", 0},
		{"DM stranger", dm("telegram", "eve", "Eve"), false, Pair, "new pairing code", 1},
		{"DM allowlisted", dm("slack", "UALLOW", "Al"), false, Allow, "allowlisted", 0},
		{"allowlisted in a group with policy all", group("slack", "UALLOW", false), false, Allow, "allowlisted", 0},
		{"allowlist is per channel", dm("telegram", "UALLOW", "Al"), false, Pair, "new pairing code", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, st, _ := newTestGate(t, opts)
			var known engine.User
			if tc.known {
				var err error
				known, err = g.ensureUser(context.Background(), tc.in.Channel, tc.in.Sender.ID, "Alice", engine.RoleMember)
				if err != nil {
					t.Fatal(err)
				}
			}
			d, err := g.Check(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tc.want || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("decision = %+v, want %s (%s)", d, tc.want, tc.reason)
			}
			if _, _, n := st.counts(); n != tc.pairings {
				t.Fatalf("pairing requests stored = %d, want %d", n, tc.pairings)
			}
			switch d.Kind {
			case Allow:
				if d.User.ID == "" || (tc.known && d.User.ID != known.ID) {
					t.Fatalf("allowed user = %+v, want %+v", d.User, known)
				}
			case Pair:
				if d.Code == "" || !strings.Contains(d.Notice, d.Code) {
					t.Fatalf("pair decision without code or notice: %+v", d)
				}
			default:
				if d.Notice != "" || d.Code != "" || d.User.ID != "" {
					t.Fatalf("%s decision carries data: %+v", d.Kind, d)
				}
			}
		})
	}
}

func TestCheckInvalidInboundAndStoreErrors(t *testing.T) {
	g, st, _ := newTestGate(t, Options{})
	for _, in := range []engine.Inbound{
		{Channel: "", Sender: engine.Sender{ID: "x"}, Direct: true},
		{Channel: "telegram", Sender: engine.Sender{ID: ""}, Direct: true},
	} {
		if _, err := g.Check(context.Background(), in); !errors.Is(err, ErrInvalidInbound) {
			t.Fatalf("Check(%+v) err = %v, want ErrInvalidInbound", in, err)
		}
	}
	boom := errors.New("disk on fire")
	st.failIdentityFor = boom
	if d, err := g.Check(context.Background(), dm("telegram", "eve", "Eve")); !errors.Is(err, boom) || d.Kind != "" {
		t.Fatalf("identity lookup failure: %+v, %v", d, err)
	}
	st.failIdentityFor = nil
	st.failCreatePair = boom
	if d, err := g.Check(context.Background(), dm("telegram", "eve", "Eve")); !errors.Is(err, boom) || d.Kind != "" {
		t.Fatalf("pairing store failure: %+v, %v", d, err)
	}
}

func TestAllowlistCreatesMember(t *testing.T) {
	g, st, _ := newTestGate(t, Options{Allowlists: map[string][]string{"telegram": {" 42 "}}})
	ctx := context.Background()
	d, err := g.Check(ctx, dm("telegram", "42", "Bob"))
	if err != nil || d.Kind != Allow {
		t.Fatalf("Check = %+v, %v", d, err)
	}
	if d.User.Role != engine.RoleMember || d.User.Name != "Bob" {
		t.Fatalf("user = %+v, want member named Bob", d.User)
	}
	id, err := st.IdentityFor(ctx, "telegram", "42")
	if err != nil || id.UserID != d.User.ID || id.DisplayName != "Bob" {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	d2, err := g.Check(ctx, dm("telegram", "42", "Bob"))
	if err != nil || d2.User.ID != d.User.ID || d2.Reason != "known identity" {
		t.Fatalf("second Check = %+v, %v", d2, err)
	}
	if users, idents, _ := st.counts(); users != 1 || idents != 1 {
		t.Fatalf("users %d identities %d, want 1 and 1", users, idents)
	}
}

func TestAllowlistRace(t *testing.T) {
	g, st, _ := newTestGate(t, Options{Allowlists: map[string][]string{"telegram": {"42"}}})
	const n = 2
	st.beforeCreateUser = barrier(n) // both messages pass the lookup before either creates
	var wg sync.WaitGroup
	decisions := make([]Decision, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { decisions[i], errs[i] = g.Check(context.Background(), dm("telegram", "42", "Bob")) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || decisions[i].Kind != Allow {
			t.Fatalf("Check %d = %+v, %v", i, decisions[i], errs[i])
		}
	}
	if decisions[0].User.ID != decisions[1].User.ID {
		t.Fatalf("two users for one sender: %s and %s", decisions[0].User.ID, decisions[1].User.ID)
	}
	if users, idents, _ := st.counts(); users != 1 || idents != 1 {
		t.Fatalf("users %d identities %d, want 1 and 1", users, idents)
	}
}

func TestEnsureOwner(t *testing.T) {
	g, st, _ := newTestGate(t, Options{})
	ctx := context.Background()
	u, err := g.EnsureOwner(ctx, "repl", "owner", "Sam")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != engine.RoleOwner || u.Name != "Sam" {
		t.Fatalf("owner = %+v", u)
	}
	again, err := g.EnsureOwner(ctx, "repl", "owner", "Someone Else")
	if err != nil || again != u {
		t.Fatalf("second EnsureOwner = %+v, %v; want %+v", again, err, u)
	}
	if users, idents, _ := st.counts(); users != 1 || idents != 1 {
		t.Fatalf("users %d identities %d, want 1 and 1", users, idents)
	}
	d, err := g.Check(ctx, dm("repl", "owner", ""))
	if err != nil || d.Kind != Allow || d.User.ID != u.ID || d.User.Role != engine.RoleOwner {
		t.Fatalf("REPL owner Check = %+v, %v", d, err)
	}

	if _, err := g.ensureUser(ctx, "telegram", "7", "Mallory", engine.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := g.EnsureOwner(ctx, "telegram", "7", "Mallory"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("EnsureOwner over a member = %v, want ErrNotOwner", err)
	}
	if _, err := g.EnsureOwner(ctx, "", "owner", "x"); err == nil {
		t.Fatal("EnsureOwner without channel accepted")
	}
}

func TestEnsureOwnerConcurrent(t *testing.T) {
	g, st, _ := newTestGate(t, Options{})
	const n = 4
	st.beforeCreateUser = barrier(n)
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			u, err := g.EnsureOwner(context.Background(), "repl", "owner", "Sam")
			if err != nil {
				t.Error(err)
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("different owners: %v", ids)
		}
	}
	if users, idents, _ := st.counts(); users != 1 || idents != 1 {
		t.Fatalf("users %d identities %d, want 1 and 1", users, idents)
	}
}
