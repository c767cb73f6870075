package engine

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestNewAPIToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, rec := NewAPIToken("u1", "laptop")
		if seen[tok] || seen[rec.ID] {
			t.Fatalf("token or id repeated: %s %s", tok, rec.ID)
		}
		seen[tok], seen[rec.ID] = true, true
		if !strings.HasPrefix(tok, APITokenPrefix) || len(tok) != 56 {
			t.Fatalf("token %q: want %s and 52 base32 characters", tok, APITokenPrefix)
		}
		if !IsAPITokenFormat(tok) {
			t.Fatalf("IsAPITokenFormat(%q) = false", tok)
		}
		want := sha256.Sum256([]byte(tok))
		if !bytes.Equal(rec.Hash, want[:]) || !bytes.Equal(HashAPIToken(tok), want[:]) {
			t.Fatalf("hash of %q is not its SHA-256", tok)
		}
		if rec.UserID != "u1" || rec.Name != "laptop" || !strings.HasPrefix(tok, rec.Hint) || len(rec.Hint) != 10 {
			t.Fatalf("record %+v", rec)
		}
		if len(rec.ID) != 16 || !rec.CreatedAt.IsZero() || rec.Revoked() {
			t.Fatalf("record %+v", rec)
		}
	}
}

func TestIsAPITokenFormat(t *testing.T) {
	good, _ := NewAPIToken("u", "")
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{good, true},
		{"", false},
		{"hth_", false},
		{good[:len(good)-1], false},
		{good + "a", false},
		{"xth_" + good[4:], false},
		{strings.ToUpper(good), false},
		{good[:20] + "1" + good[21:], false}, // 1 is not in the alphabet
		{good[:20] + "=" + good[21:], false},
		{"sk-" + good[3:], false},
	} {
		if got := IsAPITokenFormat(tc.in); got != tc.want {
			t.Errorf("IsAPITokenFormat(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
