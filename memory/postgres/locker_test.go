package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/hearthbot/hearth/memory/postgres"
)

var _ gocron.Locker = (*postgres.Locker)(nil)

func TestLockerExcludesAcrossProcesses(t *testing.T) {
	u := schemaURL(t)
	a, b := openAt(t, u).Locker(), openAt(t, u).Locker()
	ctx := t.Context()

	la, err := a.Lock(ctx, "routine:42")
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	if _, err := b.Lock(ctx, "routine:42"); !errors.Is(err, postgres.ErrLocked) {
		t.Fatalf("Lock of a held key from the other process: %v, want ErrLocked", err)
	}
	// Session-level advisory locks are re-entrant within a session, but
	// each Lock takes its own connection: the same process is excluded too.
	if _, err := a.Lock(ctx, "routine:42"); !errors.Is(err, postgres.ErrLocked) {
		t.Fatalf("second Lock of a held key in the same process: %v, want ErrLocked", err)
	}
	lo, err := b.Lock(ctx, "routine:43")
	if err != nil {
		t.Fatalf("Lock of another key: %v", err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	lb, err := b.Lock(ctx, "routine:42")
	if err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	for _, l := range []gocron.Lock{lb, lo} {
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLockerSchemasAreSeparate(t *testing.T) {
	a, b := openAt(t, schemaURL(t)).Locker(), openAt(t, schemaURL(t)).Locker()
	la, err := a.Lock(t.Context(), "heartbeat")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Unlock(t.Context())
	lb, err := b.Lock(t.Context(), "heartbeat")
	if err != nil {
		t.Fatalf("the same key in another schema (another Hearth instance): %v, want it free", err)
	}
	_ = lb.Unlock(t.Context())
}

// TestLockerMinHold: an early Unlock keeps the lock until the minimum hold
// time, so a process whose scheduler fires a moment later finds it taken.
// Close releases it without waiting.
func TestLockerMinHold(t *testing.T) {
	u := schemaURL(t)
	sa := openAt(t, u)
	a, b := sa.Locker().WithMinHold(time.Hour), openAt(t, u).Locker()
	ctx := t.Context()
	la, err := a.Lock(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(ctx, "job"); !errors.Is(err, postgres.ErrLocked) {
		t.Fatalf("Lock within the minimum hold of another's lock: %v, want ErrLocked", err)
	}
	if err := sa.Close(); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lock(ctx, "job")
	if err != nil {
		t.Fatalf("Lock after the holder's store closed: %v", err)
	}
	_ = lb.Unlock(ctx)
	if _, err := a.Lock(ctx, "job"); !errors.Is(err, postgres.ErrClosed) {
		t.Errorf("Lock on a closed store: %v, want ErrClosed", err)
	}
}

// TestLockerCloseReleases: locks held when the store closes are released,
// and Close does not wait for their Unlock.
func TestLockerCloseReleases(t *testing.T) {
	u := schemaURL(t)
	sa := openAt(t, u)
	b := openAt(t, u).Locker()
	ctx := t.Context()
	la, err := sa.Locker().Lock(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Close(); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lock(ctx, "job")
	if err != nil {
		t.Fatalf("Lock after the holder's store closed: %v", err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Errorf("Unlock after Close: %v, want nil (already released)", err)
	}
	_ = lb.Unlock(ctx)
}
