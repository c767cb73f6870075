package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func checkSession(t *testing.T, got, want engine.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Key != want.Key || got.Address != want.Address ||
		got.Group != want.Group || got.Active != want.Active || got.Model != want.Model ||
		got.Summary != want.Summary || got.SummaryThrough != want.SummaryThrough {
		t.Errorf("session = %+v,\nwant %+v", got, want)
	}
	checkTime(t, "session "+want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "session "+want.ID+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func sessionIDs(list []engine.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func testSessions(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	mustUser(t, s, "u1", engine.RoleOwner, at(0))
	mustUser(t, s, "u2", engine.RoleMember, at(0))
	addr := engine.Address{Channel: "telegram", Conversation: "-100", Thread: "7", ReplyTo: "55"}
	first := engine.Session{
		ID: "a", UserID: "u1", Key: addr.Key(), Address: addr, Group: true, Model: "small",
		Summary: "so far", SummaryThrough: 3,
		Active:    false, // CreateSession makes it active regardless
		CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute),
	}
	must(t, "CreateSession a", s.CreateSession(ctx, first))
	first.Active = true
	got, err := s.ActiveSession(ctx, "u1", addr.Key())
	must(t, "ActiveSession", err)
	checkSession(t, got, first)
	got, err = s.GetSession(ctx, "a")
	must(t, "GetSession", err)
	checkSession(t, got, first)

	// Isolation: u2 has no session under u1's key.
	_, err = s.ActiveSession(ctx, "u2", addr.Key())
	wantErr(t, "ActiveSession of another user", err, engine.ErrNotFound)
	_, err = s.ActiveSession(ctx, "u1", "other key")
	wantErr(t, "ActiveSession unknown key", err, engine.ErrNotFound)
	_, err = s.GetSession(ctx, "zzz")
	wantErr(t, "GetSession unknown", err, engine.ErrNotFound)

	// /new: a second session under the key deactivates the first.
	second := mustSession(t, s, "b", "u1", addr.Key(), at(3*time.Minute))
	got, err = s.ActiveSession(ctx, "u1", addr.Key())
	must(t, "ActiveSession after /new", err)
	checkSession(t, got, second)
	got, err = s.GetSession(ctx, "a")
	must(t, "GetSession a after /new", err)
	if got.Active {
		t.Error("session a still active after session b replaced it")
	}

	// Another key and another user are independent.
	other := mustSession(t, s, "c", "u1", "key-2", at(4*time.Minute))
	theirs := mustSession(t, s, "d", "u2", addr.Key(), at(5*time.Minute))
	for _, want := range []engine.Session{second, other, theirs} {
		got, err := s.ActiveSession(ctx, want.UserID, want.Key)
		must(t, "ActiveSession "+want.ID, err)
		checkSession(t, got, want)
	}

	// A taken id changes nothing: b stays active.
	dup := engine.Session{ID: "a", UserID: "u1", Key: addr.Key(), CreatedAt: at(time.Hour)}
	wantErr(t, "CreateSession duplicate id", s.CreateSession(ctx, dup), engine.ErrConflict)
	got, err = s.ActiveSession(ctx, "u1", addr.Key())
	must(t, "ActiveSession after duplicate", err)
	if got.ID != "b" {
		t.Errorf("active session after failed create = %q, want b", got.ID)
	}
	// So does an unknown user.
	ghost := engine.Session{ID: "g", UserID: "ghost", Key: "k", CreatedAt: at(time.Hour)}
	wantErr(t, "CreateSession unknown user", s.CreateSession(ctx, ghost), engine.ErrNotFound)
	_, err = s.GetSession(ctx, "g")
	wantErr(t, "GetSession of failed create", err, engine.ErrNotFound)
	if err := s.CreateSession(ctx, engine.Session{ID: "", UserID: "u1", Key: "k"}); err == nil {
		t.Error("CreateSession without id: no error")
	}
}

func testSessionUpdateAndList(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	mustUser(t, s, "u1", engine.RoleOwner, at(0))
	mustUser(t, s, "u2", engine.RoleMember, at(0))
	a := mustSession(t, s, "a", "u1", "k1", at(1*time.Minute))
	mustSession(t, s, "b", "u1", "k2", at(2*time.Minute))
	mustSession(t, s, "c", "u1", "k3", at(3*time.Minute))
	mustSession(t, s, "d", "u2", "k1", at(4*time.Minute))

	// UpdateSession saves Model, Summary, SummaryThrough and UpdatedAt only.
	upd := a
	upd.Model, upd.Summary, upd.SummaryThrough, upd.UpdatedAt = "big", "the story", 12, at(10*time.Minute)
	upd.Key, upd.UserID, upd.Active, upd.Group = "changed", "u2", false, true
	upd.CreatedAt = at(time.Hour)
	must(t, "UpdateSession", s.UpdateSession(ctx, upd))
	want := a
	want.Model, want.Summary, want.SummaryThrough, want.UpdatedAt = "big", "the story", 12, at(10*time.Minute)
	got, err := s.GetSession(ctx, "a")
	must(t, "GetSession after update", err)
	checkSession(t, got, want)
	wantErr(t, "UpdateSession unknown", s.UpdateSession(ctx, engine.Session{ID: "zzz", UserID: "u1", Key: "k"}),
		engine.ErrNotFound)

	lists := []struct {
		user  string
		limit int
		want  []string
	}{
		{"u1", 0, []string{"a", "c", "b"}},
		{"u1", 2, []string{"a", "c"}},
		{"u2", 0, []string{"d"}},
		{"", 0, []string{"a", "d", "c", "b"}},
		{"", 1, []string{"a"}},
		{"nobody", 0, []string{}},
	}
	for _, tc := range lists {
		list, err := s.ListSessions(ctx, tc.user, tc.limit)
		must(t, "ListSessions", err)
		if !equalStrings(sessionIDs(list), tc.want) {
			t.Errorf("ListSessions(%q, %d) = %v, want %v", tc.user, tc.limit, sessionIDs(list), tc.want)
		}
	}
	list, err := s.ListSessions(ctx, "u1", 1)
	must(t, "ListSessions", err)
	if len(list) == 1 {
		checkSession(t, list[0], want)
	}
	if _, err := s.ListSessions(ctx, "u1", -1); err == nil {
		t.Error("ListSessions with a negative limit: no error")
	}
}

// testSessionsConcurrentCreate races CreateSession for one user and key. A
// backend may turn a lost race into ErrConflict, but at least one call
// succeeds and exactly one session ends up active.
func testSessionsConcurrentCreate(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	mustUser(t, s, "u1", engine.RoleOwner, at(0))
	const n = 12
	errs := make([]error, n)
	run(n, func(i int) {
		errs[i] = s.CreateSession(ctx, engine.Session{
			ID: fmt.Sprintf("s%02d", i), UserID: "u1", Key: "k", CreatedAt: at(time.Duration(i) * time.Second),
		})
	})
	ok := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			ok[fmt.Sprintf("s%02d", i)] = true
		case !errors.Is(err, engine.ErrConflict):
			t.Errorf("CreateSession %d: %v", i, err)
		}
	}
	if len(ok) == 0 {
		t.Fatal("no concurrent CreateSession succeeded")
	}
	list, err := s.ListSessions(ctx, "u1", 0)
	must(t, "ListSessions", err)
	active := 0
	for _, ses := range list {
		if ses.Active {
			active++
			if !ok[ses.ID] {
				t.Errorf("active session %s is one whose CreateSession failed", ses.ID)
			}
		}
	}
	if active != 1 || len(list) != len(ok) {
		t.Errorf("after the race: %d sessions, %d active; want %d sessions, 1 active", len(list), active, len(ok))
	}
	got, err := s.ActiveSession(ctx, "u1", "k")
	must(t, "ActiveSession", err)
	if !ok[got.ID] {
		t.Errorf("ActiveSession = %s, not a successful create", got.ID)
	}
}
