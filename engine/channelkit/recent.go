package channelkit

import "sync"

// Recent remembers the last N keys added (update ids, event ids), so an
// adapter can skip a platform redelivery it has already handed to the
// engine. It is a bounded, first-in-first-out set, safe for concurrent use.
type Recent struct {
	mu    sync.Mutex
	set   map[string]struct{}
	ring  []string
	next  int
	limit int
}

// NewRecent returns a set remembering up to n keys (at least 1).
func NewRecent(n int) *Recent {
	n = max(n, 1)
	return &Recent{set: make(map[string]struct{}, n), ring: make([]string, 0, n), limit: n}
}

// Contains reports whether key is remembered.
func (r *Recent) Contains(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[key]
	return ok
}

// Add remembers key, forgetting the oldest key when full. It reports
// whether key was new.
func (r *Recent) Add(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[key]; ok {
		return false
	}
	if len(r.ring) < r.limit {
		r.ring = append(r.ring, key)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = key
		r.next = (r.next + 1) % r.limit
	}
	r.set[key] = struct{}{}
	return true
}
