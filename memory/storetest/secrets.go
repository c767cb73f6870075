package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func checkSecret(t *testing.T, got, want engine.StoredSecret) {
	t.Helper()
	if got.UserID != want.UserID || got.Name != want.Name || !bytes.Equal(got.Ciphertext, want.Ciphertext) {
		t.Errorf("secret = %s/%s %x, want %s/%s %x", got.UserID, got.Name, got.Ciphertext, want.UserID, want.Name, want.Ciphertext)
	}
	checkTime(t, "secret CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "secret UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	checkTime(t, "secret LastUsed", got.LastUsed, want.LastUsed)
}

func secretNames(list []engine.StoredSecret) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.Name
	}
	return out
}

func testSecrets(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	gh := engine.StoredSecret{UserID: "u1", Name: "github_token", Ciphertext: []byte{0, 1, 2, 0xff, 0},
		CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, "PutSecret", s.PutSecret(ctx, gh))
	got, err := s.GetSecret(ctx, "u1", "github_token")
	must(t, "GetSecret", err)
	checkSecret(t, got, gh)

	// Replacing keeps CreatedAt and takes the new value.
	repl := engine.StoredSecret{UserID: "u1", Name: "github_token", Ciphertext: []byte("new ciphertext"),
		CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	must(t, "PutSecret replace", s.PutSecret(ctx, repl))
	got, err = s.GetSecret(ctx, "u1", "github_token")
	must(t, "GetSecret after replace", err)
	want := repl
	want.CreatedAt = gh.CreatedAt
	checkSecret(t, got, want)

	must(t, "TouchSecret", s.TouchSecret(ctx, "u1", "github_token", at(2*time.Hour)))
	got, err = s.GetSecret(ctx, "u1", "github_token")
	must(t, "GetSecret after touch", err)
	want.LastUsed = at(2 * time.Hour)
	checkSecret(t, got, want)

	for _, name := range []string{"openai_key", "aws_secret"} {
		must(t, "PutSecret "+name, s.PutSecret(ctx, engine.StoredSecret{UserID: "u1", Name: name, Ciphertext: []byte(name)}))
	}
	got, err = s.GetSecret(ctx, "u1", "aws_secret")
	must(t, "GetSecret aws_secret", err)
	checkSet(t, "filled CreatedAt", got.CreatedAt)
	checkSet(t, "filled UpdatedAt", got.UpdatedAt)
	if !got.LastUsed.IsZero() {
		t.Errorf("LastUsed of an unused secret = %v, want zero", got.LastUsed)
	}

	list, err := s.ListSecrets(ctx, "u1")
	must(t, "ListSecrets", err)
	if want := []string{"aws_secret", "github_token", "openai_key"}; !equalStrings(secretNames(list), want) {
		t.Fatalf("ListSecrets = %v, want %v", secretNames(list), want)
	}
	checkSecret(t, list[1], engine.StoredSecret{UserID: "u1", Name: "github_token", Ciphertext: []byte("new ciphertext"),
		CreatedAt: at(0), UpdatedAt: at(time.Hour), LastUsed: at(2 * time.Hour)})

	must(t, "DeleteSecret", s.DeleteSecret(ctx, "u1", "github_token"))
	_, err = s.GetSecret(ctx, "u1", "github_token")
	wantErr(t, "GetSecret deleted", err, engine.ErrNotFound)
	wantErr(t, "DeleteSecret twice", s.DeleteSecret(ctx, "u1", "github_token"), engine.ErrNotFound)
	wantErr(t, "TouchSecret deleted", s.TouchSecret(ctx, "u1", "github_token", at(0)), engine.ErrNotFound)
	_, err = s.GetSecret(ctx, "u1", "never")
	wantErr(t, "GetSecret unknown", err, engine.ErrNotFound)

	bad := []engine.StoredSecret{
		{UserID: "", Name: "x", Ciphertext: []byte("c")},
		{UserID: "u1", Name: "", Ciphertext: []byte("c")},
		{UserID: "u1", Name: "empty"},
	}
	for _, b := range bad {
		if err := s.PutSecret(ctx, b); err == nil {
			t.Errorf("PutSecret(%q/%q, %d bytes): no error", b.UserID, b.Name, len(b.Ciphertext))
		}
	}
	list, err = s.ListSecrets(ctx, "u1")
	must(t, "ListSecrets", err)
	if want := []string{"aws_secret", "openai_key"}; !equalStrings(secretNames(list), want) {
		t.Errorf("ListSecrets after delete and rejects = %v, want %v", secretNames(list), want)
	}
}

// testSecretsIsolation checks that one user's secrets are invisible and
// untouchable for another.
func testSecretsIsolation(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	a := engine.StoredSecret{UserID: "alice", Name: "token", Ciphertext: []byte("alice's"), CreatedAt: at(0), UpdatedAt: at(0)}
	b := engine.StoredSecret{UserID: "bob", Name: "token", Ciphertext: []byte("bob's"), CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	must(t, "PutSecret alice", s.PutSecret(ctx, a))
	must(t, "PutSecret bob", s.PutSecret(ctx, b))
	must(t, "PutSecret alice only", s.PutSecret(ctx, engine.StoredSecret{UserID: "alice", Name: "private", Ciphertext: []byte("p")}))

	got, err := s.GetSecret(ctx, "bob", "token")
	must(t, "GetSecret bob", err)
	checkSecret(t, got, b)
	_, err = s.GetSecret(ctx, "bob", "private")
	wantErr(t, "GetSecret of alice's name as bob", err, engine.ErrNotFound)
	wantErr(t, "TouchSecret as bob", s.TouchSecret(ctx, "bob", "private", at(0)), engine.ErrNotFound)
	wantErr(t, "DeleteSecret as bob", s.DeleteSecret(ctx, "bob", "private"), engine.ErrNotFound)

	list, err := s.ListSecrets(ctx, "bob")
	must(t, "ListSecrets bob", err)
	if want := []string{"token"}; !equalStrings(secretNames(list), want) {
		t.Errorf("ListSecrets(bob) = %v, want %v", secretNames(list), want)
	}
	must(t, "DeleteSecret bob", s.DeleteSecret(ctx, "bob", "token"))
	got, err = s.GetSecret(ctx, "alice", "token")
	must(t, "GetSecret alice after bob's delete", err)
	checkSecret(t, got, a)
	list, err = s.ListSecrets(ctx, "alice")
	must(t, "ListSecrets alice", err)
	if want := []string{"private", "token"}; !equalStrings(secretNames(list), want) {
		t.Errorf("ListSecrets(alice) = %v, want %v", secretNames(list), want)
	}
}
