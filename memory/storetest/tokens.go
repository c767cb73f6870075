package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// The API token methods (engine.APITokenStore): every store keeps tokens
// hashed, finds only unrevoked ones by hash, and scopes listings by user.

// tokenStore returns s as an engine.APITokenStore or fails the test:
// every backend must keep API tokens.
func tokenStore(t *testing.T, s engine.Store) engine.APITokenStore {
	t.Helper()
	ts, ok := s.(engine.APITokenStore)
	if !ok {
		t.Fatalf("%T does not implement engine.APITokenStore (CreateAPIToken, APITokenByHash, ListAPITokens, RevokeAPIToken, TouchAPIToken)", s)
	}
	return ts
}

// apiToken builds a token record with a hash derived from seed.
func apiToken(id, userID, seed string, created time.Time) engine.APIToken {
	h := sha256.Sum256([]byte(seed))
	return engine.APIToken{ID: id, UserID: userID, Name: "label " + id, Hash: h[:], Hint: "hth_" + id, CreatedAt: created}
}

func checkToken(t *testing.T, got, want engine.APIToken) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || got.Hint != want.Hint || !bytes.Equal(got.Hash, want.Hash) {
		t.Errorf("token = %s/%s %q %q %x, want %s/%s %q %q %x", got.ID, got.UserID, got.Name, got.Hint, got.Hash,
			want.ID, want.UserID, want.Name, want.Hint, want.Hash)
	}
	checkTime(t, "token "+want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "token "+want.ID+" LastUsed", got.LastUsed, want.LastUsed)
	checkTime(t, "token "+want.ID+" RevokedAt", got.RevokedAt, want.RevokedAt)
}

func tokenIDs(list []engine.APIToken) []string {
	out := make([]string, len(list))
	for i, tk := range list {
		out[i] = tk.ID
	}
	return out
}

// testAPITokenSuite runs the token tests (one entry in the suite's list).
func testAPITokenSuite(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Lifecycle", testAPITokens},
		{"Validation", testAPITokenValidation},
		{"Concurrent", testAPITokensConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func testAPITokens(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	ts := tokenStore(t, s)

	a := apiToken("t-a", "u1", "secret a", at(0))
	b := apiToken("t-b", "u2", "secret b", at(time.Second))
	c := apiToken("t-c", "u1", "secret c", at(2*time.Second))
	for _, tk := range []engine.APIToken{c, a, b} { // creation order differs from CreatedAt order
		must(t, "CreateAPIToken "+tk.ID, ts.CreateAPIToken(ctx, tk))
	}

	got, err := ts.APITokenByHash(ctx, a.Hash)
	must(t, "APITokenByHash", err)
	checkToken(t, got, a)
	other := sha256.Sum256([]byte("secret d"))
	_, err = ts.APITokenByHash(ctx, other[:])
	wantErr(t, "APITokenByHash of an unknown hash", err, engine.ErrNotFound)
	_, err = ts.APITokenByHash(ctx, a.Hash[:16])
	wantErr(t, "APITokenByHash of a short hash", err, engine.ErrNotFound)
	_, err = ts.APITokenByHash(ctx, nil)
	wantErr(t, "APITokenByHash of no hash", err, engine.ErrNotFound)

	// Listings: per user, oldest first, everyone's for "".
	list, err := ts.ListAPITokens(ctx, "u1")
	must(t, "ListAPITokens u1", err)
	if want := []string{"t-a", "t-c"}; !equalStrings(tokenIDs(list), want) {
		t.Fatalf("ListAPITokens u1 = %v, want %v", tokenIDs(list), want)
	}
	checkToken(t, list[1], c)
	list, err = ts.ListAPITokens(ctx, "")
	must(t, "ListAPITokens all", err)
	if want := []string{"t-a", "t-b", "t-c"}; !equalStrings(tokenIDs(list), want) {
		t.Fatalf("ListAPITokens all = %v, want %v", tokenIDs(list), want)
	}
	list, err = ts.ListAPITokens(ctx, "nobody")
	must(t, "ListAPITokens of an unknown user", err)
	if len(list) != 0 {
		t.Errorf("ListAPITokens of an unknown user = %v, want none", tokenIDs(list))
	}

	// Touch records the last use.
	must(t, "TouchAPIToken", ts.TouchAPIToken(ctx, "t-a", at(time.Hour)))
	got, err = ts.APITokenByHash(ctx, a.Hash)
	must(t, "APITokenByHash after touch", err)
	a.LastUsed = at(time.Hour)
	checkToken(t, got, a)
	wantErr(t, "TouchAPIToken unknown", ts.TouchAPIToken(ctx, "t-zz", at(0)), engine.ErrNotFound)

	// Revoking hides the token from lookups but keeps it listed; revoking
	// again keeps the first time.
	must(t, "RevokeAPIToken", ts.RevokeAPIToken(ctx, "t-a", at(2*time.Hour)))
	_, err = ts.APITokenByHash(ctx, a.Hash)
	wantErr(t, "APITokenByHash of a revoked token", err, engine.ErrNotFound)
	must(t, "RevokeAPIToken twice", ts.RevokeAPIToken(ctx, "t-a", at(3*time.Hour)))
	list, err = ts.ListAPITokens(ctx, "u1")
	must(t, "ListAPITokens after revoke", err)
	a.RevokedAt = at(2 * time.Hour)
	if len(list) != 2 {
		t.Fatalf("ListAPITokens after revoke = %v", tokenIDs(list))
	}
	checkToken(t, list[0], a)
	if !list[0].Revoked() || list[1].Revoked() {
		t.Errorf("Revoked() = %v, %v; want true, false", list[0].Revoked(), list[1].Revoked())
	}
	wantErr(t, "RevokeAPIToken unknown", ts.RevokeAPIToken(ctx, "t-zz", at(0)), engine.ErrNotFound)
	// The other tokens still work.
	got, err = ts.APITokenByHash(ctx, b.Hash)
	must(t, "APITokenByHash of another token", err)
	checkToken(t, got, b)
}

func testAPITokenValidation(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	ts := tokenStore(t, s)
	good := apiToken("t-1", "u1", "one", at(0))
	must(t, "CreateAPIToken", ts.CreateAPIToken(ctx, good))

	sameID := apiToken("t-1", "u2", "two", at(0))
	wantErr(t, "CreateAPIToken with a taken id", ts.CreateAPIToken(ctx, sameID), engine.ErrConflict)
	sameHash := apiToken("t-2", "u2", "one", at(0))
	wantErr(t, "CreateAPIToken with a taken hash", ts.CreateAPIToken(ctx, sameHash), engine.ErrConflict)
	wantErr(t, "CreateAPIToken for a missing user", ts.CreateAPIToken(ctx, apiToken("t-3", "ghost", "three", at(0))), engine.ErrNotFound)

	bad := []struct {
		name string
		tok  engine.APIToken
	}{
		{"no id", apiToken("", "u1", "four", at(0))},
		{"no user", apiToken("t-4", "", "four", at(0))},
		{"short hash", func() engine.APIToken { tk := apiToken("t-5", "u1", "five", at(0)); tk.Hash = tk.Hash[:31]; return tk }()},
		{"no hash", func() engine.APIToken { tk := apiToken("t-6", "u1", "six", at(0)); tk.Hash = nil; return tk }()},
	}
	for _, tc := range bad {
		if err := ts.CreateAPIToken(ctx, tc.tok); err == nil {
			t.Errorf("CreateAPIToken with %s: no error", tc.name)
		}
	}
	list, err := ts.ListAPITokens(ctx, "")
	must(t, "ListAPITokens", err)
	if want := []string{"t-1"}; !equalStrings(tokenIDs(list), want) {
		t.Errorf("after refused creations ListAPITokens = %v, want %v", tokenIDs(list), want)
	}

	// A zero CreatedAt is filled; a token made by engine.NewAPIToken is
	// found by the hash of its text.
	text, rec := engine.NewAPIToken("u2", "laptop")
	must(t, "CreateAPIToken NewAPIToken", ts.CreateAPIToken(ctx, rec))
	got, err := ts.APITokenByHash(ctx, engine.HashAPIToken(text))
	must(t, "APITokenByHash NewAPIToken", err)
	checkSet(t, "filled token CreatedAt", got.CreatedAt)
	if got.ID != rec.ID || got.UserID != "u2" || got.Name != "laptop" || got.Hint != rec.Hint || !got.LastUsed.IsZero() || got.Revoked() {
		t.Errorf("NewAPIToken record = %+v, want %+v", got, rec)
	}
}

// testAPITokensConcurrent creates, touches and looks up tokens from many
// goroutines at once.
func testAPITokensConcurrent(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	ts := tokenStore(t, s)
	const n = 16
	var errs, lookups collect
	var mu sync.Mutex
	texts := make([]string, n)
	run(n, func(i int) {
		text, rec := engine.NewAPIToken([]string{"u1", "u2"}[i%2], fmt.Sprint("t", i))
		if err := ts.CreateAPIToken(ctx, rec); err != nil {
			errs.add("create %d: %v", i, err)
			return
		}
		mu.Lock()
		texts[i] = text
		mu.Unlock()
		if err := ts.TouchAPIToken(ctx, rec.ID, at(time.Duration(i)*time.Second)); err != nil {
			errs.add("touch %d: %v", i, err)
		}
	})
	errs.report(t)
	run(n, func(i int) {
		got, err := ts.APITokenByHash(ctx, engine.HashAPIToken(texts[i]))
		if err != nil {
			lookups.add("lookup %d: %v", i, err)
			return
		}
		if got.Name != fmt.Sprint("t", i) || !got.LastUsed.Equal(at(time.Duration(i)*time.Second)) {
			lookups.add("lookup %d = %+v", i, got)
		}
	})
	lookups.report(t)
	for _, u := range []string{"u1", "u2"} {
		list, err := ts.ListAPITokens(ctx, u)
		must(t, "ListAPITokens "+u, err)
		if len(list) != n/2 {
			t.Errorf("ListAPITokens %s: %d tokens, want %d", u, len(list), n/2)
		}
	}
}
