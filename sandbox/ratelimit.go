package sandbox

import (
	"sync"
	"time"

	"github.com/hearthbot/hearth/sandbox/caps"
)

// rateLimiter counts events per user and kind over a sliding minute.
type rateLimiter struct {
	limits map[string]int // kind -> per minute (0: unlimited)
	now    func() time.Time
	mu     sync.Mutex
	events map[string][]time.Time // user + kind -> times within the window
}

func newRateLimiter(r *caps.RateLimit, now func() time.Time) *rateLimiter {
	l := &rateLimiter{limits: map[string]int{}, now: now, events: map[string][]time.Time{}}
	if r != nil {
		l.limits["call"] = r.CallsPerMinute
		l.limits["http"] = r.HTTPPerMinute
	}
	return l
}

// allow records an event and reports whether it is within the limit.
func (l *rateLimiter) allow(user, kind string) bool {
	limit := l.limits[kind]
	if limit <= 0 {
		return true
	}
	now := l.now()
	key := user + "\x00" + kind
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.events[key]
	cut := 0
	for cut < len(times) && now.Sub(times[cut]) >= time.Minute {
		cut++
	}
	times = times[cut:]
	if len(times) >= limit {
		l.events[key] = times
		return false
	}
	l.events[key] = append(times, now)
	return true
}
