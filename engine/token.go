package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"
)

// API tokens authenticate the OpenAI-compatible API (adapters/openaiapi):
// each belongs to one user, whose sessions, memory and tools a request
// reaches. A token is shown once, when it is created; stores keep only its
// SHA-256 hash, which is safe because the token carries 256 random bits
// (no dictionary or brute-force attack on the hash is feasible).

// APITokenPrefix begins every API token, so that a leaked token is
// recognisable (secret scanners, the leak detector, a glance at a log).
const APITokenPrefix = "hth_"

// APITokenHashLen is the length of APIToken.Hash (SHA-256).
const APITokenHashLen = sha256.Size

// apiTokenBytes is a token's entropy; apiTokenLen its length in characters.
const (
	apiTokenBytes = 32
	apiTokenLen   = len(APITokenPrefix) + (apiTokenBytes*8+4)/5
	// apiTokenHintLen is how much of a token listings show.
	apiTokenHintLen = len(APITokenPrefix) + 6
)

// apiTokenEncoding spells the random part in lower-case base32 (a-z, 2-7):
// no padding, nothing to escape in a header, a shell or a URL.
var apiTokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// APIToken is a stored API token: everything but the token itself.
type APIToken struct {
	// ID names the token in listings and for revocation.
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// Name is the owner's label ("laptop", "open-webui").
	Name string `json:"name,omitempty"`
	// Hash is HashAPIToken of the token (APITokenHashLen bytes).
	Hash []byte `json:"-"`
	// Hint is the token's first characters ("hth_k3x9qa"), shown in
	// listings so tokens can be told apart; it reveals 30 of 256 bits.
	Hint      string    `json:"hint"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsed is zero until the token first authenticates a request;
	// stores may record it coarsely (callers touch at most once a minute).
	LastUsed time.Time `json:"last_used,omitzero"`
	// RevokedAt is zero while the token is valid.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the token was revoked.
func (t APIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// APITokenStore keeps API tokens. memory/sqlite and memory/postgres
// implement it next to Store, and memory/storetest checks both.
type APITokenStore interface {
	// CreateAPIToken stores a new token. ErrConflict when its ID or Hash
	// is taken; ErrNotFound when its user does not exist. A zero
	// CreatedAt is filled with the store's clock.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// APITokenByHash returns the unrevoked token with this hash;
	// ErrNotFound when there is none (or it was revoked).
	APITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	// ListAPITokens lists a user's tokens (everyone's when userID is
	// empty), revoked ones included, oldest first.
	ListAPITokens(ctx context.Context, userID string) ([]APIToken, error)
	// RevokeAPIToken revokes a token at at (the store's clock when zero);
	// revoking a revoked token keeps the first time. ErrNotFound when no
	// token has that id.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	// TouchAPIToken records that a token was used at at (the store's
	// clock when zero); ErrNotFound when no token has that id.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
}

// NewAPIToken returns a fresh token for userID: the token, to show once,
// and its record, to store. The record's ID is random; CreatedAt is left
// for the store to fill.
func NewAPIToken(userID, name string) (token string, rec APIToken) {
	var b [apiTokenBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token = APITokenPrefix + apiTokenEncoding.EncodeToString(b[:])
	var id [8]byte
	_, _ = rand.Read(id[:])
	return token, APIToken{
		ID:     hex.EncodeToString(id[:]),
		UserID: userID,
		Name:   name,
		Hash:   HashAPIToken(token),
		Hint:   token[:apiTokenHintLen],
	}
}

// HashAPIToken is the SHA-256 of a token, the form stores keep.
func HashAPIToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// IsAPITokenFormat reports whether s has the shape of a token NewAPIToken
// makes (prefix, length, alphabet): a cheap check before a store lookup.
func IsAPITokenFormat(s string) bool {
	rest, ok := strings.CutPrefix(s, APITokenPrefix)
	if !ok || len(s) != apiTokenLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
