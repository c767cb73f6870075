package sandboxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// SecretStore is an in-memory engine.SecretStore.
type SecretStore struct {
	mu sync.Mutex
	m  map[string]engine.StoredSecret
}

var _ engine.SecretStore = (*SecretStore)(nil)

// NewSecretStore returns an empty store.
func NewSecretStore() *SecretStore { return &SecretStore{m: map[string]engine.StoredSecret{}} }

func key(user, name string) string { return user + "\x00" + name }

// PutSecret implements engine.SecretStore.
func (s *SecretStore) PutSecret(_ context.Context, sec engine.StoredSecret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec.Ciphertext = append([]byte(nil), sec.Ciphertext...)
	s.m[key(sec.UserID, sec.Name)] = sec
	return nil
}

// GetSecret implements engine.SecretStore.
func (s *SecretStore) GetSecret(_ context.Context, user, name string) (engine.StoredSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.m[key(user, name)]
	if !ok {
		return engine.StoredSecret{}, fmt.Errorf("secret %s/%s: %w", user, name, engine.ErrNotFound)
	}
	return sec, nil
}

// ListSecrets implements engine.SecretStore.
func (s *SecretStore) ListSecrets(_ context.Context, user string) ([]engine.StoredSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.StoredSecret
	for _, sec := range s.m {
		if sec.UserID == user {
			out = append(out, sec)
		}
	}
	slices.SortFunc(out, func(a, b engine.StoredSecret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteSecret implements engine.SecretStore.
func (s *SecretStore) DeleteSecret(_ context.Context, user, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key(user, name)]; !ok {
		return fmt.Errorf("secret %s/%s: %w", user, name, engine.ErrNotFound)
	}
	delete(s.m, key(user, name))
	return nil
}

// TouchSecret implements engine.SecretStore.
func (s *SecretStore) TouchSecret(_ context.Context, user, name string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.m[key(user, name)]
	if !ok {
		return fmt.Errorf("secret %s/%s: %w", user, name, engine.ErrNotFound)
	}
	sec.LastUsed = at
	s.m[key(user, name)] = sec
	return nil
}

// Raw returns every stored ciphertext, to check that no plaintext is
// stored.
func (s *SecretStore) Raw() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, sec := range s.m {
		out = append(out, append([]byte(nil), sec.Ciphertext...))
	}
	return out
}

// AuditLog is an in-memory engine.AuditStore.
type AuditLog struct {
	mu      sync.Mutex
	entries []engine.AuditEntry
}

var _ engine.AuditStore = (*AuditLog)(nil)

// RecordAudit implements engine.AuditStore.
func (a *AuditLog) RecordAudit(_ context.Context, e engine.AuditEntry) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.ID = int64(len(a.entries) + 1)
	a.entries = append(a.entries, e)
	return e.ID, nil
}

// ListAudit implements engine.AuditStore (newest first).
func (a *AuditLog) ListAudit(_ context.Context, f engine.AuditFilter) ([]engine.AuditEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []engine.AuditEntry
	for i := len(a.entries) - 1; i >= 0; i-- {
		e := a.entries[i]
		if (f.UserID != "" && e.UserID != f.UserID) || (f.Tool != "" && e.Tool != f.Tool) ||
			(f.Kind != "" && e.Kind != f.Kind) || (!f.Since.IsZero() && e.Time.Before(f.Since)) {
			continue
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// Entries returns every entry, oldest first.
func (a *AuditLog) Entries() []engine.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.entries)
}

// Last returns the newest entry (zero when empty).
func (a *AuditLog) Last() engine.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) == 0 {
		return engine.AuditEntry{}
	}
	return a.entries[len(a.entries)-1]
}
