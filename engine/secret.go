package engine

import (
	"context"
	"time"
)

// StoredSecret is a user's secret as persisted: the value is encrypted by
// the secrets package (AES-256-GCM, per-secret key from HKDF) and the store
// never sees plaintext.
type StoredSecret struct {
	UserID     string
	Name       string
	Ciphertext []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// LastUsed is zero until the secret is first injected.
	LastUsed time.Time
}

// SecretStore keeps encrypted secrets per user.
type SecretStore interface {
	// PutSecret creates or replaces a secret.
	PutSecret(ctx context.Context, s StoredSecret) error
	GetSecret(ctx context.Context, userID, name string) (StoredSecret, error)
	// ListSecrets lists a user's secrets by name.
	ListSecrets(ctx context.Context, userID string) ([]StoredSecret, error)
	DeleteSecret(ctx context.Context, userID, name string) error
	TouchSecret(ctx context.Context, userID, name string, at time.Time) error
}
