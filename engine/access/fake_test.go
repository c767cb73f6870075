package access

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// fakeStore is an in-memory Store with the semantics the real stores
// share (memory/storetest): unique user ids, identities and codes, and
// atomic ResolvePairing. Hooks run outside the lock, to force races.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]engine.User
	idents   map[[2]string]engine.Identity
	pairings map[string]engine.PairingRequest

	beforeCreateUser func()
	afterListPending func()
	afterPendingFor  func()
	failIdentityFor  error
	failCreatePair   error
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		users:    map[string]engine.User{},
		idents:   map[[2]string]engine.Identity{},
		pairings: map[string]engine.PairingRequest{},
	}
}

func live(p engine.PairingRequest, now time.Time) bool {
	return p.Status == engine.PairingPending && now.Before(p.ExpiresAt)
}

func (s *fakeStore) CreateUser(_ context.Context, u engine.User) error {
	if s.beforeCreateUser != nil {
		s.beforeCreateUser()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("user %s: %w", u.ID, engine.ErrConflict)
	}
	s.users[u.ID] = u
	return nil
}

func (s *fakeStore) GetUser(_ context.Context, id string) (engine.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return engine.User{}, fmt.Errorf("user %s: %w", id, engine.ErrNotFound)
	}
	return u, nil
}

func (s *fakeStore) LinkIdentity(_ context.Context, id engine.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{id.Channel, id.PlatformID}
	if _, ok := s.idents[k]; ok {
		return fmt.Errorf("identity %v: %w", k, engine.ErrConflict)
	}
	if _, ok := s.users[id.UserID]; !ok {
		return fmt.Errorf("identity of missing user %s", id.UserID)
	}
	s.idents[k] = id
	return nil
}

func (s *fakeStore) IdentityFor(_ context.Context, channel, platformID string) (engine.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failIdentityFor != nil {
		return engine.Identity{}, s.failIdentityFor
	}
	id, ok := s.idents[[2]string{channel, platformID}]
	if !ok {
		return engine.Identity{}, fmt.Errorf("identity %s/%s: %w", channel, platformID, engine.ErrNotFound)
	}
	return id, nil
}

func (s *fakeStore) CreatePairing(_ context.Context, p engine.PairingRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCreatePair != nil {
		return s.failCreatePair
	}
	if _, ok := s.pairings[p.Code]; ok {
		return fmt.Errorf("code %s: %w", p.Code, engine.ErrConflict)
	}
	s.pairings[p.Code] = p
	return nil
}

func (s *fakeStore) PendingPairingFor(_ context.Context, channel, platformID string, now time.Time) (engine.PairingRequest, error) {
	if s.afterPendingFor != nil {
		defer s.afterPendingFor()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pairings {
		if p.Channel == channel && p.PlatformID == platformID && live(p, now) {
			return p, nil
		}
	}
	return engine.PairingRequest{}, fmt.Errorf("pending pairing %s/%s: %w", channel, platformID, engine.ErrNotFound)
}

func (s *fakeStore) CountPendingPairings(_ context.Context, channel string, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pairings {
		if p.Channel == channel && live(p, now) {
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) ListPendingPairings(_ context.Context, now time.Time) ([]engine.PairingRequest, error) {
	s.mu.Lock()
	var out []engine.PairingRequest
	for _, p := range s.pairings {
		if live(p, now) {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	if s.afterListPending != nil {
		s.afterListPending()
	}
	return out, nil
}

func (s *fakeStore) ResolvePairing(_ context.Context, code string, status engine.PairingStatus, userID string, now time.Time) (engine.PairingRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pairings[code]
	if !ok || !live(p, now) {
		return engine.PairingRequest{}, fmt.Errorf("pairing %s: %w", code, engine.ErrNotFound)
	}
	p.Status, p.UserID = status, userID
	s.pairings[code] = p
	return p, nil
}

func (s *fakeStore) counts() (users, idents, pairings int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users), len(s.idents), len(s.pairings)
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// barrier returns a function that blocks its first n callers until all n
// have arrived; later callers pass at once.
func barrier(n int) func() {
	var mu sync.Mutex
	arrived := 0
	open := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		if arrived == n {
			close(open)
		}
		mu.Unlock()
		<-open
	}
}
