package runtime

import "sync/atomic"

// Stats is a snapshot of the engine's activity since it was created: what
// a process's idle detection, `/status` and metrics read.
type Stats struct {
	// Accepted counts calls of Accept: every inbound message, whether it
	// was stored, refused or a duplicate.
	Accepted uint64
	// Turns counts the turns that have ended (answered, failed or
	// stopped); Running is the number running now.
	Turns   uint64
	Running int64
	// Sessions is the number of live session actors.
	Sessions int
}

// counters are the engine's activity counters.
type counters struct {
	accepted atomic.Uint64
	turns    atomic.Uint64
	running  atomic.Int64
}

// Stats returns the engine's activity counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	sessions := len(e.actors)
	e.mu.Unlock()
	return Stats{
		Accepted: e.stats.accepted.Load(),
		Turns:    e.stats.turns.Load(),
		Running:  e.stats.running.Load(),
		Sessions: sessions,
	}
}

// Idle reports whether nothing happened between two snapshots and no turn
// is running.
func (s Stats) Idle(since Stats) bool {
	return s.Running == 0 && s.Accepted == since.Accepted && s.Turns == since.Turns
}
