// Package storetest is the conformance suite every engine.Store backend
// passes (memory/sqlite, memory/postgres). A backend's test implements
// Harness in a few lines and calls RunConformanceTests:
//
//	type harness struct{}
//
//	func (harness) MakeStore(ctx context.Context, t *testing.T) (engine.Store, error) {
//		s, err := mybackend.Open(ctx, ...) // empty and isolated
//		if err == nil {
//			t.Cleanup(func() { s.Close() })
//		}
//		return s, err
//	}
//
//	func TestConformance(t *testing.T) { storetest.RunConformanceTests(t, harness{}) }
//
// The suite assumes nothing about the backend's storage: integer ids are
// positive and increase in the order rows are written (their values are
// otherwise opaque), times are compared at millisecond precision (every
// time the suite writes is a whole millisecond) and must come back in UTC.
// Beyond the doc comments of engine's interfaces it pins down these
// semantics:
//   - zero CreatedAt, UpdatedAt and Time fields are filled by the store;
//   - a reference to a missing user, session or inbound message fails with
//     engine.ErrNotFound and writes nothing;
//   - SaveInbound with empty Status stores engine.InboxPending, CompleteTurn
//     with empty Status sets engine.InboxDone; history entries and outbound
//     messages of a turn default to the turn's inbound message and its
//     session;
//   - linking an identity again to its own user succeeds (and keeps its
//     CreatedAt); ListUsers and ListIdentities list oldest first;
//   - "unexpired" means ExpiresAt is after now; AuditFilter.Since is
//     inclusive;
//   - PutSecret on an existing name keeps CreatedAt; MarkDelivered twice
//     succeeds;
//   - concurrent CreateSession calls for one user and key leave exactly one
//     active session (a backend may fail the losers with ErrConflict);
//   - negative limits are errors; Close waits for the writes in flight, may
//     be called more than once, and every call after it fails.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// Harness makes stores for the suite.
type Harness interface {
	// MakeStore returns an empty store isolated from every other store it
	// made, registering its cleanup (closing it, dropping its data) with
	// t.Cleanup. The suite may close the store itself, so Close must be
	// safe to call twice.
	MakeStore(ctx context.Context, t *testing.T) (engine.Store, error)
}

// Reopener is a Harness whose stores can be closed and opened again on the
// same data. The suite's persistence tests run only when the harness
// implements it.
type Reopener interface {
	Harness
	// Reopen closes s (which may already be closed) and returns a new
	// store over the same data, registering its cleanup with t.Cleanup.
	Reopen(ctx context.Context, t *testing.T, s engine.Store) (engine.Store, error)
}

// RunConformanceTests runs the whole suite against h.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Ping", testPing},
		{"Users", testUsers},
		{"UserValidation", testUserValidation},
		{"Identities", testIdentities},
		{"Pairing", testPairing},
		{"PairingResolve", testPairingResolve},
		{"PairingConcurrentResolve", testPairingConcurrentResolve},
		{"Sessions", testSessions},
		{"SessionUpdateAndList", testSessionUpdateAndList},
		{"SessionsConcurrentCreate", testSessionsConcurrentCreate},
		{"Inbox", testInbox},
		{"InboxDedupe", testInboxDedupe},
		{"InboxConcurrentDedupe", testInboxConcurrentDedupe},
		{"InboxReferences", testInboxReferences},
		{"PendingInbound", testPendingInbound},
		{"CompleteTurn", testCompleteTurn},
		{"CompleteTurnDefaults", testCompleteTurnDefaults},
		{"CompleteTurnAtomic", testCompleteTurnAtomic},
		{"HistoryPaging", testHistoryPaging},
		{"Outbox", testOutbox},
		{"Audit", testAudit},
		{"Secrets", testSecrets},
		{"SecretsIsolation", testSecretsIsolation},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CloseDuringWrites", testCloseDuringWrites},
		{"UseAfterClose", testUseAfterClose},
		{"Persistence", testPersistence},
		{"Memory", testMemory},
		{"Routines", testRoutines},
		{"RoutineRunRequests", testRoutineRunRequests},
		{"Heartbeats", testHeartbeats},
		{"Runs", testRuns},
		{"RunsConcurrentStart", testRunsConcurrentStart},
		{"LastInbound", testLastInbound},
		{"APITokens", testAPITokenSuite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// newStore makes an empty store or fails the test.
func newStore(t *testing.T, h Harness) engine.Store {
	t.Helper()
	s, err := h.MakeStore(t.Context(), t)
	if err != nil {
		t.Fatalf("MakeStore: %v", err)
	}
	if s == nil {
		t.Fatal("MakeStore returned a nil store")
	}
	return s
}

// baseTime is a whole millisecond in a non-UTC zone: stores must keep the
// instant and return it in UTC.
func baseTime() time.Time {
	return time.Date(2026, 11, 24, 9, 30, 15, 123_000_000, time.FixedZone("UTC+1", 3600))
}

// at is baseTime plus d.
func at(d time.Duration) time.Time { return baseTime().Add(d) }

// checkTime reports a time that differs from want or is not in UTC.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// checkSet reports a zero time or one not in UTC.
func checkSet(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Errorf("%s is zero, want the store to fill it", what)
	} else if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustUser(t *testing.T, s engine.Store, id string, role engine.UserRole, created time.Time) engine.User {
	t.Helper()
	u := engine.User{ID: id, Name: "Name of " + id, Role: role, Timezone: "Europe/Berlin", CreatedAt: created}
	must(t, "CreateUser "+id, s.CreateUser(t.Context(), u))
	return u
}

func mustSession(t *testing.T, s engine.Store, id, userID, key string, updated time.Time) engine.Session {
	t.Helper()
	ses := engine.Session{
		ID: id, UserID: userID, Key: key,
		Address:   engine.Address{Channel: "repl", Conversation: key, Thread: "th-" + key},
		CreatedAt: updated, UpdatedAt: updated,
	}
	must(t, "CreateSession "+id, s.CreateSession(t.Context(), ses))
	ses.Active = true
	return ses
}

// inbound builds a routed pending message.
func inbound(channel, msgID, userID, sessionID, text string) engine.StoredInbound {
	return engine.StoredInbound{
		Inbound: engine.Inbound{
			Channel: channel, MessageID: msgID, Conversation: "conv", Sender: engine.Sender{ID: "p-" + userID},
			Direct: true, Text: text, ReceivedAt: at(time.Minute),
		},
		UserID: userID, SessionID: sessionID, Status: engine.InboxPending, CreatedAt: at(time.Minute),
	}
}

func mustSave(t *testing.T, s engine.Store, m engine.StoredInbound) engine.StoredInbound {
	t.Helper()
	got, created, err := s.SaveInbound(t.Context(), m)
	if err != nil {
		t.Fatalf("SaveInbound %s/%s: %v", m.Inbound.Channel, m.Inbound.MessageID, err)
	}
	if !created {
		t.Fatalf("SaveInbound %s/%s: created = false for a new message", m.Inbound.Channel, m.Inbound.MessageID)
	}
	if got.ID <= 0 {
		t.Fatalf("SaveInbound %s/%s: ID = %d, want > 0", m.Inbound.Channel, m.Inbound.MessageID, got.ID)
	}
	return got
}

// setup makes a store with users u1, u2 and one session each ("s1" for
// u1 under key "k1", "s2" for u2 under "k2").
func setup(t *testing.T, h Harness) engine.Store {
	t.Helper()
	s := newStore(t, h)
	mustUser(t, s, "u1", engine.RoleOwner, at(0))
	mustUser(t, s, "u2", engine.RoleMember, at(time.Second))
	mustSession(t, s, "s1", "u1", "k1", at(2*time.Second))
	mustSession(t, s, "s2", "u2", "k2", at(3*time.Second))
	return s
}

func testPing(t *testing.T, h Harness) {
	s := newStore(t, h)
	must(t, "Ping", s.Ping(t.Context()))
}

// run starts n goroutines running fn(i) and waits for them.
func run(n int, fn func(i int)) {
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			fn(i)
		}()
	}
	for range n {
		<-done
	}
}

// collect gathers errors from goroutines.
type collect struct {
	mu   sync.Mutex
	errs []error
}

func (c *collect) add(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Errorf(format, args...))
	c.mu.Unlock()
}

func (c *collect) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, err := range c.errs {
		if i == 10 {
			t.Errorf("... and %d more errors", len(c.errs)-10)
			break
		}
		t.Error(err)
	}
}
