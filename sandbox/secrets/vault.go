// Package secrets keeps users' secrets encrypted at rest and hands their
// values to the sandbox host only: for injection into allowed requests
// and for leak detection. Values never reach a guest, a log line, the
// audit log or the model.
//
// Each value is sealed with AES-256-GCM under its own key, derived with
// HKDF-SHA256 from the master key, a random salt and the owner and name
// of the secret; the owner and name are also the additional data, so a
// ciphertext moved to another user or name does not decrypt. The master
// key comes from HEARTH_MASTER_KEY, else the OS keychain, else a key file
// (see LoadMasterKey).
package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox/caps"
)

// Limits on values.
const (
	// MinValueLen is the shortest value accepted: shorter values could
	// not be told apart from ordinary text by the leak detector.
	MinValueLen = 8
	// MaxValueLen bounds a value.
	MaxValueLen = 16 << 10
)

// ErrInvalid wraps bad names and values.
var ErrInvalid = errors.New("invalid secret")

// ErrDecrypt means a stored secret does not open with this master key.
var ErrDecrypt = errors.New("secret cannot be decrypted (wrong master key, or the stored value was altered)")

const (
	formatV1 = 1
	saltLen  = 16
	nonceLen = 12
	infoV1   = "hearth/secret/v1"
)

// Info describes a secret without its value.
type Info struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LastUsed is zero until the host first injects the secret.
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Vault encrypts and decrypts secrets kept in an engine.SecretStore.
type Vault struct {
	store engine.SecretStore
	key   MasterKey
	now   func() time.Time
}

// NewVault returns a vault over store with the given master key; now
// defaults to time.Now.
func NewVault(store engine.SecretStore, key MasterKey, now func() time.Time) (*Vault, error) {
	if store == nil {
		return nil, errors.New("secrets: no store")
	}
	if !key.valid {
		return nil, errors.New("secrets: no master key")
	}
	if now == nil {
		now = time.Now
	}
	return &Vault{store: store, key: key, now: now}, nil
}

// ValidateValue checks a value before it is stored.
func ValidateValue(value []byte) error {
	switch {
	case len(value) < MinValueLen:
		return fmt.Errorf("%w: the value is %d bytes; at least %d are needed so that a leak of it can be recognised", ErrInvalid, len(value), MinValueLen)
	case len(value) > MaxValueLen:
		return fmt.Errorf("%w: the value is longer than %d bytes", ErrInvalid, MaxValueLen)
	case !utf8.Valid(value):
		return fmt.Errorf("%w: the value is not valid UTF-8 text", ErrInvalid)
	case bytes.ContainsAny(value, "\x00\r\n"):
		return fmt.Errorf("%w: the value contains a NUL or line break (it would corrupt an HTTP header)", ErrInvalid)
	}
	return nil
}

func aad(userID, name string) []byte {
	return []byte(infoV1 + "\x00" + userID + "\x00" + name)
}

func (v *Vault) aead(salt []byte, userID, name string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, v.key.b[:], salt, string(aad(userID, name)), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts a value: version | salt | nonce | ciphertext+tag.
func (v *Vault) seal(userID, name string, value []byte) ([]byte, error) {
	out := make([]byte, 1+saltLen+nonceLen, 1+saltLen+nonceLen+len(value)+16)
	out[0] = formatV1
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, err
	}
	g, err := v.aead(out[1:1+saltLen], userID, name)
	if err != nil {
		return nil, err
	}
	return g.Seal(out, out[1+saltLen:], value, aad(userID, name)), nil
}

func (v *Vault) open(userID, name string, data []byte) ([]byte, error) {
	if len(data) < 1+saltLen+nonceLen+16 || data[0] != formatV1 {
		return nil, fmt.Errorf("secret %s: %w", name, ErrDecrypt)
	}
	g, err := v.aead(data[1:1+saltLen], userID, name)
	if err != nil {
		return nil, err
	}
	plain, err := g.Open(nil, data[1+saltLen:1+saltLen+nonceLen], data[1+saltLen+nonceLen:], aad(userID, name))
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, ErrDecrypt)
	}
	return plain, nil
}

// Set stores (or replaces) a user's secret.
func (v *Vault) Set(ctx context.Context, userID, name string, value []byte) error {
	if userID == "" {
		return fmt.Errorf("%w: no user", ErrInvalid)
	}
	if err := caps.ValidateSecretName(name); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := ValidateValue(value); err != nil {
		return err
	}
	ct, err := v.seal(userID, name, value)
	if err != nil {
		return fmt.Errorf("secrets: encrypt %s: %w", name, err)
	}
	now := v.now()
	created := now
	if old, err := v.store.GetSecret(ctx, userID, name); err == nil {
		created = old.CreatedAt
	}
	if err := v.store.PutSecret(ctx, engine.StoredSecret{UserID: userID, Name: name, Ciphertext: ct, CreatedAt: created, UpdatedAt: now}); err != nil {
		return fmt.Errorf("secrets: store %s: %w", name, err)
	}
	return nil
}

// reveal decrypts one secret.
func (v *Vault) reveal(ctx context.Context, userID, name string) (string, error) {
	s, err := v.store.GetSecret(ctx, userID, name)
	if err != nil {
		return "", fmt.Errorf("secrets: %s: %w", name, err)
	}
	plain, err := v.open(userID, name, s.Ciphertext)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// Use returns a value for injection and records the time of use; an
// error wrapping engine.ErrNotFound when the user has not set it.
func (v *Vault) Use(ctx context.Context, userID, name string) (string, error) {
	value, err := v.reveal(ctx, userID, name)
	if err != nil {
		return "", err
	}
	if err := v.store.TouchSecret(ctx, userID, name, v.now()); err != nil {
		return "", fmt.Errorf("secrets: record use of %s: %w", name, err)
	}
	return value, nil
}

// Exists reports whether the user has set the secret.
func (v *Vault) Exists(ctx context.Context, userID, name string) (bool, error) {
	_, err := v.store.GetSecret(ctx, userID, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, engine.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("secrets: %s: %w", name, err)
}

// Values decrypts every secret of a user, by name, for the leak
// detector. A secret that does not decrypt is an error: scanning without
// it would be blind to its leaks.
func (v *Vault) Values(ctx context.Context, userID string) (map[string]string, error) {
	list, err := v.store.ListSecrets(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("secrets: list: %w", err)
	}
	out := make(map[string]string, len(list))
	for _, s := range list {
		plain, err := v.open(userID, s.Name, s.Ciphertext)
		if err != nil {
			return nil, err
		}
		out[s.Name] = string(plain)
	}
	return out, nil
}

// List describes a user's secrets, never their values.
func (v *Vault) List(ctx context.Context, userID string) ([]Info, error) {
	list, err := v.store.ListSecrets(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("secrets: list: %w", err)
	}
	out := make([]Info, len(list))
	for i, s := range list {
		out[i] = Info{Name: s.Name, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, LastUsed: s.LastUsed}
	}
	return out, nil
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, userID, name string) error {
	if err := v.store.DeleteSecret(ctx, userID, name); err != nil {
		return fmt.Errorf("secrets: delete %s: %w", name, err)
	}
	return nil
}

// Check decrypts every secret of the user and reports the names that do
// not open, for `hearth doctor`.
func (v *Vault) Check(ctx context.Context, userID string) ([]string, error) {
	list, err := v.store.ListSecrets(ctx, userID)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, s := range list {
		if _, err := v.open(userID, s.Name, s.Ciphertext); err != nil {
			bad = append(bad, s.Name)
		}
	}
	return bad, nil
}

// ReadValue reads a secret value for `hearth secrets set NAME` from r
// (standard input or a terminal prompt's result): everything up to EOF,
// without one trailing line break. It refuses values over MaxValueLen.
func ReadValue(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxValueLen+3))
	if err != nil {
		return nil, fmt.Errorf("secrets: read value: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if err := ValidateValue(b); err != nil {
		return nil, err
	}
	return b, nil
}
