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

// Limiter paces outbound events per key. Wait never drops: callers of one
// key queue in arrival order, and each is released once the key's rate
// allows (measured from the previous release) and then the global budget
// does. A key waiting for its own rate does not hold the global budget, so
// one busy chat never slows the others. A platform's retry-after holds a
// key back with Block.
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
	tat          time.Time // theoretical arrival time of the key's budget (GCRA)
	blockedUntil time.Time
	queue        []*waiter // callers still waiting, in arrival order
	changed      chan struct{}
}

type waiter struct {
	head chan struct{} // closed when the waiter is first in its key's queue
}

// NewLimiter returns a limiter; a nil clock means the wall clock.
func NewLimiter(clock Clock, limits Limits) *Limiter {
	return &Limiter{clock: orSystem(clock), limits: limits, keys: make(map[string]*keyState), sweepSize: 1024}
}

// Wait blocks until key may send, in the order callers arrived. It returns
// ctx's error if ctx ends first (the place is then given up).
func (l *Limiter) Wait(ctx context.Context, key string) error {
	ks, w := l.enqueue(key)
	defer l.dequeue(ks, w)
	select {
	case <-w.head:
	case <-ctx.Done():
		return l.cancelled(ctx, key)
	}
	// First in line: wait for the key's own rate (and any block).
	for {
		l.mu.Lock()
		at := l.keySlotLocked(ks)
		changed := ks.changed
		l.mu.Unlock()
		d := at.Sub(l.clock.Now())
		if d <= 0 {
			break
		}
		t := l.clock.NewTimer(d)
		select {
		case <-t.C():
		case <-changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return l.cancelled(ctx, key)
		}
	}
	// Then for the global budget.
	if l.limits.Global.Interval > 0 {
		l.mu.Lock()
		now := l.clock.Now()
		at := later(now, l.global.Add(-l.limits.Global.tolerance()))
		l.global = later(l.global, at).Add(l.limits.Global.Interval)
		l.mu.Unlock()
		if !sleep(l.clock, at.Sub(now), ctx.Done()) {
			return l.cancelled(ctx, key)
		}
	}
	l.mu.Lock()
	if l.limits.PerKey.Interval > 0 {
		ks.tat = later(ks.tat, l.clock.Now()).Add(l.limits.PerKey.Interval)
	}
	l.mu.Unlock()
	return nil
}

func (l *Limiter) cancelled(ctx context.Context, key string) error {
	return fmt.Errorf("rate limiter wait for %q: %w", key, context.Cause(ctx))
}

// Delay estimates how long a Wait for key issued now would take: the
// key's next slot, one interval per caller already queued, and the global
// budget.
func (l *Limiter) Delay(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	at := now
	if ks := l.keys[key]; ks != nil {
		at = later(at, l.keySlotLocked(ks)).Add(time.Duration(len(ks.queue)) * l.limits.PerKey.Interval)
	}
	if l.limits.Global.Interval > 0 {
		at = later(at, l.global.Add(-l.limits.Global.tolerance()))
	}
	return max(0, at.Sub(now))
}

// Block holds key back until the given time (a platform said "retry
// after"): the caller first in line waits at least that long, and the
// others queue behind it.
func (l *Limiter) Block(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks := l.stateLocked(key)
	if until.After(ks.blockedUntil) {
		ks.blockedUntil = until
		close(ks.changed)
		ks.changed = make(chan struct{})
	}
}

// Queued returns how many callers are waiting for key.
func (l *Limiter) Queued(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ks := l.keys[key]; ks != nil {
		return len(ks.queue)
	}
	return 0
}

// Keys returns how many keys the limiter currently tracks.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func (l *Limiter) keySlotLocked(ks *keyState) time.Time {
	return later(ks.tat.Add(-l.limits.PerKey.tolerance()), ks.blockedUntil)
}

func (l *Limiter) stateLocked(key string) *keyState {
	ks := l.keys[key]
	if ks == nil {
		ks = &keyState{changed: make(chan struct{})}
		l.keys[key] = ks
	}
	return ks
}

func (l *Limiter) enqueue(key string) (*keyState, *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks := l.stateLocked(key)
	w := &waiter{head: make(chan struct{})}
	ks.queue = append(ks.queue, w)
	if len(ks.queue) == 1 {
		close(w.head)
	}
	l.reserved++
	if len(l.keys) > l.sweepSize && l.reserved > l.sweepSize/2 {
		l.sweepLocked(l.clock.Now())
	}
	return ks, w
}

func (l *Limiter) dequeue(ks *keyState, w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range ks.queue {
		if x == w {
			ks.queue = append(ks.queue[:i], ks.queue[i+1:]...)
			if i == 0 && len(ks.queue) > 0 {
				close(ks.queue[0].head)
			}
			return
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
