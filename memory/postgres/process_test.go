package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// Several Hearth processes share one database: each test here opens two
// stores (two pools, so two sets of server sessions, as two processes
// would have) on one schema and races them.

// twoProcesses opens two stores on one fresh schema, with user u1 and
// session s1 created through the first.
func twoProcesses(t *testing.T) (a, b *postgres.Store) {
	t.Helper()
	u := schemaURL(t)
	a, b = openAt(t, u), openAt(t, u)
	ctx := t.Context()
	if err := a.CreateUser(ctx, engine.User{ID: "u1", Name: "One", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateSession(ctx, engine.Session{ID: "s1", UserID: "u1", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// race runs fn(i, store) on n goroutines, half on each store, released
// together.
func race(n int, a, b *postgres.Store, fn func(i int, s *postgres.Store)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i, s)
		}()
	}
	close(start)
	wg.Wait()
}

func TestTwoProcessesSaveInboundOnce(t *testing.T) {
	a, b := twoProcesses(t)
	ctx := t.Context()
	const messages, copies = 20, 8
	for m := range messages {
		type result struct {
			id      int64
			created bool
			err     error
		}
		results := make([]result, copies)
		race(copies, a, b, func(i int, s *postgres.Store) {
			got, created, err := s.SaveInbound(ctx, engine.StoredInbound{
				Inbound: engine.Inbound{Channel: "telegram", MessageID: fmt.Sprint("m", m), Conversation: "c",
					Sender: engine.Sender{ID: "p1"}, Direct: true, Text: fmt.Sprint("copy ", i)},
				UserID: "u1", SessionID: "s1",
			})
			results[i] = result{got.ID, created, err}
		})
		inserts := 0
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("message %d copy %d: %v", m, i, r.err)
			}
			if r.created {
				inserts++
			}
			if r.id != results[0].id {
				t.Errorf("message %d: copy %d got id %d, copy 0 got %d", m, i, r.id, results[0].id)
			}
		}
		if inserts != 1 {
			t.Errorf("message %d: %d of %d concurrent saves inserted, want exactly 1", m, inserts, copies)
		}
	}
	pending, err := b.PendingInbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != messages {
		t.Errorf("PendingInbound has %d messages, want %d", len(pending), messages)
	}
}

func TestTwoProcessesResolvePairingOnce(t *testing.T) {
	a, b := twoProcesses(t)
	ctx := t.Context()
	now := time.Now()
	for round := range 10 {
		code := fmt.Sprintf("RACE%04d", round)
		err := a.CreatePairing(ctx, engine.PairingRequest{Code: code, Channel: "telegram",
			PlatformID: fmt.Sprint(round), ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		race(n, a, b, func(i int, s *postgres.Store) {
			_, errs[i] = s.ResolvePairing(ctx, code, engine.PairingApproved, "u1", now)
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, engine.ErrNotFound):
				t.Errorf("round %d resolver %d: %v, want nil or ErrNotFound", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d resolutions succeeded, want exactly 1", round, wins)
		}
	}
}

func TestTwoProcessesCreateSession(t *testing.T) {
	a, b := twoProcesses(t)
	ctx := t.Context()
	const n = 10
	errs := make([]error, n)
	race(n, a, b, func(i int, s *postgres.Store) {
		errs[i] = s.CreateSession(ctx, engine.Session{ID: fmt.Sprint("r", i), UserID: "u1", Key: "race"})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateSession %d: %v (creations for one user are serialised, none should fail)", i, err)
		}
	}
	list, err := a.ListSessions(ctx, "u1", 0)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, s := range list {
		if s.Key == "race" && s.Active {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active sessions under the raced key, want 1", active)
	}
}

// TestTwoProcessesCompleteTurn completes turns of one session from both
// processes at once: sequence numbers stay dense and unique.
func TestTwoProcessesCompleteTurn(t *testing.T) {
	a, b := twoProcesses(t)
	ctx := t.Context()
	const turns = 20
	errs := make([]error, turns)
	race(turns, a, b, func(i int, s *postgres.Store) {
		_, errs[i] = s.CompleteTurn(ctx, engine.TurnRecord{History: []engine.HistoryEntry{
			{SessionID: "s1", Message: engine.ChatMessage{Role: engine.RoleUser, Content: fmt.Sprint("q", i)}},
			{SessionID: "s1", Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: fmt.Sprint("a", i)}},
		}})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CompleteTurn %d: %v", i, err)
		}
	}
	hist, err := b.History(ctx, "s1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2*turns {
		t.Fatalf("history has %d entries, want %d", len(hist), 2*turns)
	}
	for i := 0; i < len(hist); i += 2 {
		q, ans := hist[i], hist[i+1]
		if q.Seq != int64(i+1) || ans.Seq != int64(i+2) {
			t.Fatalf("entries %d,%d have seq %d,%d", i, i+1, q.Seq, ans.Seq)
		}
		// A turn's entries are adjacent: no other turn interleaves.
		if q.Message.Content[1:] != ans.Message.Content[1:] {
			t.Errorf("entries %d and %d belong to different turns: %q, %q", i, i+1, q.Message.Content, ans.Message.Content)
		}
	}
}

// TestConcurrentOpenMigratesOnce starts several "processes" on an empty
// schema at once: all open, and each migration is recorded once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	u := schemaURL(t)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s, err := postgres.Open(context.Background(), u, postgres.Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	states, err := postgres.Status(t.Context(), u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if !st.Applied {
			t.Errorf("migration %d (%s) not applied", st.Version, st.Name)
		}
	}
	s := openAt(t, u)
	var rows, versions int
	err = s.Pool().QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version
		WHERE version_id > 0`).Scan(&rows, &versions)
	if err != nil {
		t.Fatal(err)
	}
	if rows != versions || versions != len(states) {
		t.Errorf("goose_db_version has %d rows for %d versions, want one row for each of %d migrations",
			rows, versions, len(states))
	}
}
