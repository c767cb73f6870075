package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func pairing(code, channel, sender string, created time.Time) engine.PairingRequest {
	return engine.PairingRequest{
		Code: code, Channel: channel, PlatformID: sender, DisplayName: "Name " + sender,
		Conversation: "chat-" + sender, Status: engine.PairingPending, CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
}

func checkPairing(t *testing.T, got, want engine.PairingRequest) {
	t.Helper()
	if got.Code != want.Code || got.Channel != want.Channel || got.PlatformID != want.PlatformID ||
		got.DisplayName != want.DisplayName || got.Conversation != want.Conversation || got.Status != want.Status || got.UserID != want.UserID {
		t.Errorf("pairing = %+v, want %+v", got, want)
	}
	checkTime(t, "pairing "+want.Code+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "pairing "+want.Code+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func codes(ps []engine.PairingRequest) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Code
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testPairing(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	a := pairing("AAAA2222", "telegram", "100", at(0))
	b := pairing("BBBB3333", "telegram", "200", at(time.Minute))
	c := pairing("CCCC4444", "slack", "U300", at(2*time.Minute))
	for _, p := range []engine.PairingRequest{b, a, c} {
		must(t, "CreatePairing "+p.Code, s.CreatePairing(ctx, p))
	}
	dup := pairing("AAAA2222", "slack", "U999", at(3*time.Minute))
	wantErr(t, "CreatePairing duplicate code", s.CreatePairing(ctx, dup), engine.ErrConflict)
	if err := s.CreatePairing(ctx, engine.PairingRequest{Code: "DDDD5555", Channel: "telegram", PlatformID: "1"}); err == nil {
		t.Error("CreatePairing without expiry: no error")
	}

	now := at(10 * time.Minute)
	got, err := s.PendingPairingFor(ctx, "telegram", "100", now)
	must(t, "PendingPairingFor", err)
	checkPairing(t, got, a)
	_, err = s.PendingPairingFor(ctx, "slack", "100", now)
	wantErr(t, "PendingPairingFor other channel", err, engine.ErrNotFound)
	_, err = s.PendingPairingFor(ctx, "telegram", "999", now)
	wantErr(t, "PendingPairingFor unknown sender", err, engine.ErrNotFound)
	// Expired at ExpiresAt exactly.
	_, err = s.PendingPairingFor(ctx, "telegram", "100", a.ExpiresAt)
	wantErr(t, "PendingPairingFor at expiry", err, engine.ErrNotFound)
	_, err = s.PendingPairingFor(ctx, "telegram", "100", a.ExpiresAt.Add(-time.Millisecond))
	must(t, "PendingPairingFor just before expiry", err)

	counts := []struct {
		channel string
		now     time.Time
		want    int
	}{
		{"telegram", now, 2},
		{"slack", now, 1},
		{"matrix", now, 0},
		{"telegram", a.ExpiresAt, 1},                // a expired
		{"telegram", b.ExpiresAt, 0},                // both expired
		{"slack", c.ExpiresAt.Add(-time.Second), 1}, // c not yet
		{"slack", c.ExpiresAt.Add(time.Second), 0},  // c expired
		{"telegram", at(-time.Hour), 2},             // before creation still counts
		{"telegram", b.ExpiresAt.Add(time.Hour), 0}, // long after
	}
	for _, tc := range counts {
		n, err := s.CountPendingPairings(ctx, tc.channel, tc.now)
		must(t, "CountPendingPairings", err)
		if n != tc.want {
			t.Errorf("CountPendingPairings(%s, %v) = %d, want %d", tc.channel, tc.now, n, tc.want)
		}
	}

	list, err := s.ListPendingPairings(ctx, now)
	must(t, "ListPendingPairings", err)
	if want := []string{a.Code, b.Code, c.Code}; !equalStrings(codes(list), want) {
		t.Fatalf("ListPendingPairings = %v, want %v (oldest first)", codes(list), want)
	}
	checkPairing(t, list[2], c)
	list, err = s.ListPendingPairings(ctx, a.ExpiresAt)
	must(t, "ListPendingPairings after a expired", err)
	if want := []string{b.Code, c.Code}; !equalStrings(codes(list), want) {
		t.Errorf("ListPendingPairings after expiry of a = %v, want %v", codes(list), want)
	}
}

func testPairingResolve(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	a := pairing("AAAA2222", "telegram", "100", at(0))
	b := pairing("BBBB3333", "telegram", "200", at(time.Minute))
	c := pairing("CCCC4444", "slack", "U300", at(2*time.Minute))
	for _, p := range []engine.PairingRequest{a, b, c} {
		must(t, "CreatePairing "+p.Code, s.CreatePairing(ctx, p))
	}
	now := at(10 * time.Minute)

	if _, err := s.ResolvePairing(ctx, a.Code, engine.PairingPending, "u1", now); err == nil {
		t.Error("ResolvePairing to pending: no error")
	}
	got, err := s.ResolvePairing(ctx, a.Code, engine.PairingApproved, "u1", now)
	must(t, "ResolvePairing approve", err)
	want := a
	want.Status, want.UserID = engine.PairingApproved, "u1"
	checkPairing(t, got, want)

	_, err = s.ResolvePairing(ctx, a.Code, engine.PairingDenied, "", now)
	wantErr(t, "ResolvePairing twice", err, engine.ErrNotFound)
	_, err = s.PendingPairingFor(ctx, "telegram", "100", now)
	wantErr(t, "PendingPairingFor resolved", err, engine.ErrNotFound)
	n, err := s.CountPendingPairings(ctx, "telegram", now)
	must(t, "CountPendingPairings", err)
	if n != 1 {
		t.Errorf("CountPendingPairings after approval = %d, want 1", n)
	}

	got, err = s.ResolvePairing(ctx, b.Code, engine.PairingDenied, "", now)
	must(t, "ResolvePairing deny", err)
	if got.Status != engine.PairingDenied || got.Code != b.Code {
		t.Errorf("denied pairing = %+v", got)
	}
	_, err = s.ResolvePairing(ctx, c.Code, engine.PairingApproved, "u2", c.ExpiresAt)
	wantErr(t, "ResolvePairing expired", err, engine.ErrNotFound)
	_, err = s.ResolvePairing(ctx, "ZZZZ9999", engine.PairingApproved, "u2", now)
	wantErr(t, "ResolvePairing unknown", err, engine.ErrNotFound)

	list, err := s.ListPendingPairings(ctx, now)
	must(t, "ListPendingPairings", err)
	if want := []string{c.Code}; !equalStrings(codes(list), want) {
		t.Errorf("ListPendingPairings = %v, want %v", codes(list), want)
	}
}

func testPairingConcurrentResolve(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	p := pairing("RACE2222", "telegram", "100", at(0))
	must(t, "CreatePairing", s.CreatePairing(ctx, p))
	const n = 16
	type result struct {
		status engine.PairingStatus
		got    engine.PairingRequest
		err    error
	}
	results := make([]result, n)
	run(n, func(i int) {
		st, user := engine.PairingApproved, "u1"
		if i%2 == 1 {
			st, user = engine.PairingDenied, ""
		}
		got, err := s.ResolvePairing(ctx, p.Code, st, user, at(time.Minute))
		results[i] = result{st, got, err}
	})
	winners := 0
	var winner result
	for i, r := range results {
		switch {
		case r.err == nil:
			winners++
			winner = r
		case !errors.Is(r.err, engine.ErrNotFound):
			t.Errorf("resolver %d: error = %v, want nil or ErrNotFound", i, r.err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent resolutions succeeded, want exactly 1", winners)
	}
	if winner.got.Status != winner.status {
		t.Errorf("winner got status %q, asked %q", winner.got.Status, winner.status)
	}
	_, err := s.PendingPairingFor(ctx, "telegram", "100", at(time.Minute))
	wantErr(t, "PendingPairingFor after race", err, engine.ErrNotFound)
}
