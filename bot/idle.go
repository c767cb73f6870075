package bot

import (
	"context"
	"time"

	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/safety"
	"github.com/hearthbot/hearth/internal/memtrim"
)

// startupSettle is how long after start the bot gives back the memory
// only start-up needed: long enough for channels to connect and the first
// background work (indexer, scheduler sync) to run.
const startupSettle = 2 * time.Second

// releaseMemory gives back memory the process no longer uses, until ctx
// ends: once start-up has settled (and the safety layer's tables, built
// in the background, are ready), then whenever the engine has been idle
// for agent.idle_release after some activity. Released are the heap's
// free pages and the binary's pages touched by work that is over
// (initialisation, the last turns), and the store's idle connections and
// page caches; what is needed again comes back on the next message, at a
// cost of about a millisecond.
func (b *Bot) releaseMemory(ctx context.Context) {
	safety.Warm()
	every := b.cfg.Agent.IdleRelease
	timer := time.NewTimer(startupSettle)
	defer timer.Stop()
	var last, atRelease runtime.Stats
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := b.Engine.Stats()
		if first || releaseDue(now, last, atRelease) {
			what := "idle"
			if first {
				what = "start-up"
			}
			if st, ok := b.Store.(memoryReleaser); ok {
				if err := st.ReleaseMemory(ctx); err != nil {
					b.log.Debug("store memory not released", "err", err)
				}
			}
			r, err := memtrim.Release()
			if err != nil {
				b.log.Debug(what+" memory not released", "err", err)
			} else {
				b.log.Debug(what+" memory released", "rss_before", r.RSSBefore, "rss_after", r.RSSAfter, "mappings", r.Mappings)
			}
			atRelease, first = now, false
		}
		if every <= 0 {
			return
		}
		last = now
		timer.Reset(every)
	}
}

// memoryReleaser is a store that can give back memory it keeps for speed
// (memory/sqlite: idle connections, page caches).
type memoryReleaser interface {
	ReleaseMemory(ctx context.Context) error
}

// releaseDue reports whether memory should be released at the snapshot
// now: nothing happened since the previous snapshot last (a whole idle
// period), but something did since the last release.
func releaseDue(now, last, atRelease runtime.Stats) bool {
	return now.Idle(last) && !now.Idle(atRelease)
}
