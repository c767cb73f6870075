package channelkit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Rate is a sustained rate with a burst: at most Burst events at once, then
// one every Interval. The zero Rate does not limit.
type Rate struct {
	// Interval is the minimum spacing of events once the burst is spent.
	Interval time.Duration
	// Burst is how many events may go back to back (values below 1 mean 1).
	Burst int
}

// Per returns a Rate of n events per period with no burst.
func Per(n int, period time.Duration) Rate {
	if n <= 0 {
		return Rate{}
	}
	return Rate{Interval: period / time.Duration(n), Burst: 1}
}

func (r Rate) tolerance() time.Duration {
	if r.Burst <= 1 {
		return 0
	}
	return time.Duration(r.Burst-1) * r.Interval
}

// Limits configures a Limiter.
type Limits struct {
	// PerKey limits each key (a chat, a channel) on its own: Telegram allows
	// about one message per second per chat, Slack about one per second per
	// channel.
	PerKey Rate
	// Global limits all keys together (Telegram: about 30 per second).
	Global Rate
}

// Limiter paces outbound events per key. Wait never drops: callers queue in
// arrival order and each gets the next free slot of its key (and of the
// global budget). A platform's retry-after pushes a key back with Block,
// which re-spaces the callers already queued for that key, in order.
type Limiter struct {
	clock  Clock
	limits Limits

	mu        sync.Mutex
	keys      map[string]*keyState
	global    time.Time // theoretical arrival time of the global budget
	reserved  int       // reservations since the last sweep
	sweepSize int
}

type keyState struct {
	tat          time.Time // theoretical arrival time (GCRA)
	blockedUntil time.Time
	queue        []*waiter // callers still waiting, in arrival order
}

type waiter struct {
	at      time.Time     // guarded by Limiter.mu
	changed chan struct{} // closed (and replaced) when at moves
}

// NewLimiter returns a limiter; a nil clock means the wall clock.
func NewLimiter(clock Clock, limits Limits) *Limiter {
	return &Limiter{clock: orSystem(clock), limits: limits, keys: make(map[string]*keyState), sweepSize: 1024}
}

// Wait blocks until key may send, in the order callers arrived. It returns
// ctx's error if ctx ends first (the slot is then given up, not handed on).
func (l *Limiter) Wait(ctx context.Context, key string) error {
	ks, w := l.reserve(key)
	defer l.release(ks, w)
	for {
		l.mu.Lock()
		at, changed := w.at, w.changed
		l.mu.Unlock()
		d := at.Sub(l.clock.Now())
		if d <= 0 {
			return nil
		}
		t := l.clock.NewTimer(d)
		select {
		case <-t.C():
		case <-changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("rate limiter wait for %q: %w", key, context.Cause(ctx))
		}
	}
}

// Delay returns how long a Wait for key issued now would take, without
// reserving anything.
func (l *Limiter) Delay(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	at := l.slotLocked(l.keys[key], now)
	return max(0, at.Sub(now))
}

// Block holds key back until the given time (a platform said "retry
// after"): the callers already queued for key are moved to slots from
// until on, spaced by the per-key interval and still in arrival order, and
// new callers queue behind them.
func (l *Limiter) Block(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks := l.keys[key]
	if ks == nil {
		ks = &keyState{}
		l.keys[key] = ks
	}
	if until.After(ks.blockedUntil) {
		ks.blockedUntil = until
	}
	next := until
	for _, w := range ks.queue {
		if next.After(w.at) {
			w.at = next
			close(w.changed)
			w.changed = make(chan struct{})
		}
		next = w.at.Add(l.limits.PerKey.Interval)
	}
	// next is now the first slot after the re-spaced queue.
	if t := next.Add(l.limits.PerKey.tolerance()); t.After(ks.tat) {
		ks.tat = t
	}
}

// Keys returns how many keys the limiter currently tracks.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func (l *Limiter) slotLocked(ks *keyState, now time.Time) time.Time {
	at := now
	if ks != nil {
		if t := ks.tat.Add(-l.limits.PerKey.tolerance()); t.After(at) {
			at = t
		}
		if ks.blockedUntil.After(at) {
			at = ks.blockedUntil
		}
	}
	if l.limits.Global.Interval > 0 {
		if t := l.global.Add(-l.limits.Global.tolerance()); t.After(at) {
			at = t
		}
	}
	return at
}

func (l *Limiter) reserve(key string) (*keyState, *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	ks := l.keys[key]
	if ks == nil {
		ks = &keyState{}
		l.keys[key] = ks
	}
	at := l.slotLocked(ks, now)
	if l.limits.PerKey.Interval > 0 {
		ks.tat = later(ks.tat, at).Add(l.limits.PerKey.Interval)
	}
	if l.limits.Global.Interval > 0 {
		l.global = later(l.global, at).Add(l.limits.Global.Interval)
	}
	w := &waiter{at: at, changed: make(chan struct{})}
	ks.queue = append(ks.queue, w)
	l.reserved++
	if len(l.keys) > l.sweepSize && l.reserved > l.sweepSize/2 {
		l.sweepLocked(now)
	}
	return ks, w
}

func (l *Limiter) release(ks *keyState, w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range ks.queue {
		if x == w {
			ks.queue = append(ks.queue[:i], ks.queue[i+1:]...)
			break
		}
	}
}

// sweepLocked forgets keys that are idle and whose budget has refilled, so
// the map does not grow with every chat ever seen.
func (l *Limiter) sweepLocked(now time.Time) {
	for k, ks := range l.keys {
		if len(ks.queue) == 0 && !ks.tat.After(now) && !ks.blockedUntil.After(now) {
			delete(l.keys, k)
		}
	}
	l.reserved = 0
	l.sweepSize = max(1024, 2*len(l.keys))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
