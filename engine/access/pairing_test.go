package access

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func mustPair(t *testing.T, g *Gate, in engine.Inbound) Decision {
	t.Helper()
	d, err := g.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != Pair {
		t.Fatalf("Check(%s) = %+v, want Pair", in.Sender.ID, d)
	}
	return d
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeLength {
			t.Fatalf("code %q has length %d", c, len(c))
		}
		if strings.ContainsAny(c, "0O1IL") {
			t.Fatalf("code %q has an ambiguous character", c)
		}
		if n, err := NormalizeCode(c); err != nil || n != c {
			t.Fatalf("NormalizeCode(%q) = %q, %v", c, n, err)
		}
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	if len(seen) < 1999 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	// 16000 characters over 31 symbols: about 516 each; every symbol must
	// occur, and none may dominate.
	for _, r := range CodeAlphabet {
		if counts[r] < 300 || counts[r] > 750 {
			t.Errorf("symbol %q occurred %d times in 16000", r, counts[r])
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"ABCD2345", "ABCD2345"},
		{"abcd2345", "ABCD2345"},
		{"abcd-2345", "ABCD2345"},
		{" AB CD 23 45 ", "ABCD2345"},
		{"ab-cd\t23-45", "ABCD2345"},
		{"ABCD234", ""},   // too short
		{"ABCD23456", ""}, // too long
		{"ABCD2340", ""},  // 0 is not in the alphabet
		{"ABCDO345", ""},  // O
		{"abcdl345", ""},  // l
		{"ABCD234É", ""},  // not ASCII
		{"", ""},
	}
	for _, tc := range tests {
		got, err := NormalizeCode(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrUnknownCode) {
				t.Errorf("NormalizeCode(%q) = %q, %v; want ErrUnknownCode", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSameSenderSameCodeUntilExpiry(t *testing.T) {
	g, st, clk := newTestGate(t, Options{})
	first := mustPair(t, g, dm("telegram", "eve", "Eve"))
	if !first.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("ExpiresAt = %s, want now+1h", first.ExpiresAt)
	}
	clk.Advance(59 * time.Minute)
	again := mustPair(t, g, dm("telegram", "eve", "Eve"))
	if again.Code != first.Code || !again.ExpiresAt.Equal(first.ExpiresAt) {
		t.Fatalf("second ask got %s (expires %s), want the same %s", again.Code, again.ExpiresAt, first.Code)
	}
	if !strings.Contains(again.Notice, "expires in 1 minute") {
		t.Fatalf("notice does not count down: %q", again.Notice)
	}
	if _, _, n := st.counts(); n != 1 {
		t.Fatalf("%d pairing requests stored, want 1", n)
	}
	clk.Advance(time.Minute) // now exactly at ExpiresAt: expired
	fresh := mustPair(t, g, dm("telegram", "eve", "Eve"))
	if fresh.Code == first.Code {
		t.Fatal("expired code was handed out again")
	}
	if _, err := g.Approve(context.Background(), first.Code); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("Approve(expired) = %v, want ErrUnknownCode", err)
	}
}

func TestConcurrentChecksOfOneStranger(t *testing.T) {
	g, st, _ := newTestGate(t, Options{})
	// Yield between the lookup and the creation of a code, so that without
	// the gate's lock the goroutines interleave there and issue several.
	st.afterPendingFor = func() {
		for range 10 {
			runtime.Gosched()
		}
	}
	const n = 8
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := g.Check(context.Background(), dm("telegram", "eve", "Eve"))
			if err != nil {
				t.Error(err)
			}
			codes[i] = d.Code
		})
	}
	wg.Wait()
	for _, c := range codes {
		if c == "" || c != codes[0] {
			t.Fatalf("codes = %v, want one code for all", codes)
		}
	}
	if _, _, p := st.counts(); p != 1 {
		t.Fatalf("%d pairing requests stored, want 1", p)
	}
}

func TestPendingLimitPerChannel(t *testing.T) {
	ctx := context.Background()
	g, _, clk := newTestGate(t, Options{})
	a := mustPair(t, g, dm("telegram", "a", "A"))
	clk.Advance(10 * time.Minute)
	b := mustPair(t, g, dm("telegram", "b", "B"))
	mustPair(t, g, dm("telegram", "c", "C"))

	d, err := g.Check(ctx, dm("telegram", "d", "D"))
	if err != nil || d.Kind != Deny || d.Code != "" || d.Notice != "" {
		t.Fatalf("fourth stranger = %+v, %v; want Deny with nothing to send", d, err)
	}
	// Pending senders still get their code back at the limit.
	if again := mustPair(t, g, dm("telegram", "b", "B")); again.Code != b.Code {
		t.Fatalf("pending sender at the limit got %s, want %s", again.Code, b.Code)
	}
	// The limit is per channel.
	mustPair(t, g, dm("slack", "d", "D"))

	// Resolving a code frees a slot.
	if _, err := g.Deny(ctx, b.Code); err != nil {
		t.Fatal(err)
	}
	mustPair(t, g, dm("telegram", "d", "D"))
	if d, _ := g.Check(ctx, dm("telegram", "e", "E")); d.Kind != Deny {
		t.Fatalf("stranger e at the limit = %+v, want Deny", d)
	}
	// Expiry frees a slot: a's code expires first.
	clk.Advance(50 * time.Minute)
	e := mustPair(t, g, dm("telegram", "e", "E"))
	if e.Code == a.Code {
		t.Fatal("expired code reused")
	}
}

func TestMaxPendingAndTTLOptions(t *testing.T) {
	g, _, clk := newTestGate(t, Options{MaxPending: 1, TTL: 10 * time.Minute})
	p := mustPair(t, g, dm("webhook", "a", "A"))
	if !p.ExpiresAt.Equal(clk.Now().Add(10 * time.Minute)) {
		t.Fatalf("ExpiresAt = %s, want now+10m", p.ExpiresAt)
	}
	if d, _ := g.Check(context.Background(), dm("webhook", "b", "B")); d.Kind != Deny {
		t.Fatalf("second stranger with MaxPending 1 = %+v, want Deny", d)
	}
}

func TestPairingNotice(t *testing.T) {
	g, _, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("telegram", "eve", "Eve"))
	for _, want := range []string{
		"pairing code is " + d.Code,
		"/pair approve " + d.Code,
		"hearth pairing approve " + d.Code,
		"expires in 1 hour (at 10:00 UTC, 2 Mar 2026)",
	} {
		if !strings.Contains(d.Notice, want) {
			t.Errorf("notice %q lacks %q", d.Notice, want)
		}
	}
	for d, want := range map[time.Duration]string{
		time.Hour:                       "1 hour",
		90 * time.Minute:                "1 hour 30 minutes",
		2*time.Hour + time.Minute:       "2 hours 1 minute",
		42*time.Minute + 10*time.Second: "43 minutes",
		time.Second:                     "1 minute",
		0:                               "1 minute",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestApprove(t *testing.T) {
	ctx := context.Background()
	g, st, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("telegram", "eve", "Eve Example"))
	typed := strings.ToLower(d.Code[:4] + "-" + d.Code[4:]) // as a person might type it
	u, err := g.Approve(ctx, typed)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != engine.RoleMember || u.Name != "Eve Example" || u.ID == "" {
		t.Fatalf("approved user = %+v", u)
	}
	if id, err := st.IdentityFor(ctx, "telegram", "eve"); err != nil || id.UserID != u.ID {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	st.mu.Lock()
	stored := st.pairings[d.Code]
	st.mu.Unlock()
	if stored.Status != engine.PairingApproved || stored.UserID != u.ID {
		t.Fatalf("pairing request after approval = %+v", stored)
	}
	after, err := g.Check(ctx, dm("telegram", "eve", "Eve Example"))
	if err != nil || after.Kind != Allow || after.User.ID != u.ID {
		t.Fatalf("Check after approval = %+v, %v", after, err)
	}
	if pending, _ := g.Pending(ctx); len(pending) != 0 {
		t.Fatalf("pending after approval = %+v", pending)
	}
	if _, err := g.Approve(ctx, d.Code); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("second Approve = %v, want ErrUnknownCode", err)
	}
}

func TestApproveNameFallback(t *testing.T) {
	g, _, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("webhook", "svc-7", ""))
	u, err := g.Approve(context.Background(), d.Code)
	if err != nil || u.Name != "webhook:svc-7" {
		t.Fatalf("Approve = %+v, %v; want name webhook:svc-7", u, err)
	}
}

func TestApproveDenyErrors(t *testing.T) {
	ctx := context.Background()
	g, st, _ := newTestGate(t, Options{})
	for _, code := range []string{"", "nope", "ABCD2345", "ABCD0000"} {
		if _, err := g.Approve(ctx, code); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("Approve(%q) = %v, want ErrUnknownCode", code, err)
		}
		if _, err := g.Deny(ctx, code); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("Deny(%q) = %v, want ErrUnknownCode", code, err)
		}
	}

	d := mustPair(t, g, dm("telegram", "eve", "Eve"))
	req, err := g.Deny(ctx, " "+strings.ToLower(d.Code)+" ")
	if err != nil || req.Status != engine.PairingDenied || req.PlatformID != "eve" {
		t.Fatalf("Deny = %+v, %v", req, err)
	}
	if _, err := g.Approve(ctx, d.Code); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("Approve after Deny = %v, want ErrUnknownCode", err)
	}
	if users, idents, _ := st.counts(); users != 0 || idents != 0 {
		t.Fatalf("denied sender got a user: users %d identities %d", users, idents)
	}
	if c, _ := g.Check(ctx, dm("telegram", "eve", "Eve")); c.Kind != Pair || c.Code == d.Code {
		t.Fatalf("Check after Deny = %+v, want a new code", c)
	}
}

func TestConcurrentApprovals(t *testing.T) {
	const n = 2
	g, st, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("telegram", "eve", "Eve"))
	st.afterListPending = barrier(n) // both approvers see the code pending before either resolves
	var wg sync.WaitGroup
	errs := make([]error, n)
	users := make([]engine.User, n)
	for i := range n {
		wg.Go(func() { users[i], errs[i] = g.Approve(context.Background(), d.Code) })
	}
	wg.Wait()
	ok, unknown := 0, 0
	for i := range n {
		switch {
		case errs[i] == nil:
			ok++
			if users[i].ID == "" {
				t.Fatalf("success without a user")
			}
		case errors.Is(errs[i], ErrUnknownCode):
			unknown++
		default:
			t.Fatalf("unexpected error: %v", errs[i])
		}
	}
	if ok != 1 || unknown != n-1 {
		t.Fatalf("successes %d, unknown-code failures %d; want 1 and %d (%v)", ok, unknown, n-1, errs)
	}
	if u, i, _ := st.counts(); u != 1 || i != 1 {
		t.Fatalf("users %d identities %d, want 1 and 1", u, i)
	}
}

func TestApproveVersusDeny(t *testing.T) {
	g, st, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("telegram", "eve", "Eve"))
	var wg sync.WaitGroup
	var approveErr, denyErr error
	wg.Go(func() { _, approveErr = g.Approve(context.Background(), d.Code) })
	wg.Go(func() { _, denyErr = g.Deny(context.Background(), d.Code) })
	wg.Wait()
	if (approveErr == nil) == (denyErr == nil) {
		t.Fatalf("approve err %v, deny err %v: exactly one must win", approveErr, denyErr)
	}
	users, idents, _ := st.counts()
	if approveErr == nil && (users != 1 || idents != 1) || denyErr == nil && (users != 0 || idents != 0) {
		t.Fatalf("approve %v deny %v: users %d identities %d", approveErr, denyErr, users, idents)
	}
}

func TestApproveAfterAllowlisted(t *testing.T) {
	ctx := context.Background()
	g, st, _ := newTestGate(t, Options{})
	d := mustPair(t, g, dm("telegram", "eve", "Eve"))
	// Meanwhile the sender got linked another way (another process).
	other, err := g.ensureUser(ctx, "telegram", "eve", "Eve", engine.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	u, err := g.Approve(ctx, d.Code)
	if err != nil || u.ID != other.ID {
		t.Fatalf("Approve = %+v, %v; want the existing user %s", u, err, other.ID)
	}
	if users, _, _ := st.counts(); users != 1 {
		t.Fatalf("users = %d, want 1", users)
	}
}

func TestCodeCollisionRetry(t *testing.T) {
	g, _, _ := newTestGate(t, Options{})
	seq := []string{"AAAAAAAA", "AAAAAAAA", "BBBBBBBB"}
	g.newCode = func() (string, error) {
		c := seq[0]
		seq = seq[1:]
		return c, nil
	}
	if d := mustPair(t, g, dm("telegram", "a", "A")); d.Code != "AAAAAAAA" {
		t.Fatalf("first code = %s", d.Code)
	}
	if d := mustPair(t, g, dm("telegram", "b", "B")); d.Code != "BBBBBBBB" {
		t.Fatalf("code after a collision = %s, want BBBBBBBB", d.Code)
	}
	g.newCode = func() (string, error) { return "AAAAAAAA", nil }
	if _, err := g.Check(context.Background(), dm("telegram", "c", "C")); err == nil {
		t.Fatal("endless collisions did not fail")
	}
}

func TestPendingList(t *testing.T) {
	g, _, clk := newTestGate(t, Options{})
	a := mustPair(t, g, dm("telegram", "a", "A"))
	clk.Advance(time.Minute)
	b := mustPair(t, g, dm("slack", "b", "B"))
	ps, err := g.Pending(context.Background())
	if err != nil || len(ps) != 2 || ps[0].Code != a.Code || ps[1].Code != b.Code {
		t.Fatalf("Pending = %+v, %v", ps, err)
	}
	if ps[1].DisplayName != "B" || ps[1].Channel != "slack" || ps[1].Status != engine.PairingPending {
		t.Fatalf("pending request = %+v", ps[1])
	}
}

func TestApproveRequest(t *testing.T) {
	ctx := context.Background()
	g, _, clk := newTestGate(t, Options{})
	d := mustPair(t, g, dm("slack", "U42", "Dana"))
	req, u, err := g.ApproveRequest(ctx, d.Code)
	if err != nil {
		t.Fatal(err)
	}
	want := engine.PairingRequest{
		Code: d.Code, Channel: "slack", PlatformID: "U42", DisplayName: "Dana", Conversation: "c-U42", Status: engine.PairingApproved,
		CreatedAt: clk.Now(), ExpiresAt: d.ExpiresAt, UserID: u.ID,
	}
	if req != want {
		t.Fatalf("request = %+v, want %+v", req, want)
	}
	if _, _, err := g.ApproveRequest(ctx, d.Code); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("second ApproveRequest = %v, want ErrUnknownCode", err)
	}
}
