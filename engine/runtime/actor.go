package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// actor owns one session: it runs that session's turns one at a time, in
// acceptance order. Its mailbox is bounded; when it is full the message
// stays in the store and the actor catches up from there (backlog mode),
// so nothing is dropped and order is kept.
type actor struct {
	e         *Engine
	sessionID string
	mailbox   chan engine.StoredInbound
	quit      chan struct{} // closed when intake stops

	mu      sync.Mutex
	backlog bool // messages are in the store but not in the mailbox
	closed  bool // intake stopped (shutdown)
	running bool
	cancel  context.CancelCauseFunc

	// Owned by the actor goroutine.
	lastID  int64
	history []engine.HistoryEntry
	loaded  bool
}

// dispatch hands a stored message to its session's actor, starting one
// when needed. Callers hold the session's stripe lock (or are recovering
// at start), so messages of one session arrive here in store order.
func (e *Engine) dispatch(m engine.StoredInbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing || e.base == nil {
		// Stays pending in the store; answered after the next start.
		return
	}
	a := e.actors[m.SessionID]
	if a == nil {
		a = &actor{e: e, sessionID: m.SessionID, mailbox: make(chan engine.StoredInbound, e.o.MailboxSize), quit: make(chan struct{})}
		e.actors[m.SessionID] = a
		e.actorsWG.Add(1)
		go a.loop()
	}
	a.offer(m)
}

// offer enqueues without blocking; a full mailbox switches to backlog mode.
func (a *actor) offer(m engine.StoredInbound) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.backlog {
		return
	}
	select {
	case a.mailbox <- m:
	default:
		a.backlog = true
		a.e.log.Warn("session mailbox full; message kept in the store and processed in order", "session", a.sessionID, "message", m.ID, "capacity", cap(a.mailbox))
	}
}

func (a *actor) closeIntake() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.quit)
	}
}

func (a *actor) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// cancelTurn stops the running turn; it reports whether one was running.
func (a *actor) cancelTurn() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.running || a.cancel == nil {
		return false
	}
	a.cancel(errStopped)
	return true
}

func (a *actor) state() (running bool, queued int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running, len(a.mailbox)
}

func (a *actor) loop() {
	defer a.e.actorsWG.Done()
	idle := time.NewTimer(a.e.o.IdleTimeout)
	defer idle.Stop()
	for {
		if a.isClosed() {
			a.exit()
			return
		}
		select {
		case m := <-a.mailbox:
			a.handle(m)
			a.catchUp()
		case <-idle.C:
			if a.tryExit() {
				return
			}
		case <-a.quit:
			a.exit()
			return
		case <-a.e.base.Done():
			a.exit()
			return
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(a.e.o.IdleTimeout)
	}
}

// catchUp processes messages left in the store while in backlog mode.
func (a *actor) catchUp() {
	for {
		a.mu.Lock()
		backlog := a.backlog
		a.mu.Unlock()
		if !backlog || a.isClosed() {
			return
		}
		pending, err := a.e.o.Store.PendingInboundForSession(a.e.base, a.sessionID, a.lastID)
		if err != nil {
			a.e.log.Error("load backlog failed; will retry on the next message", "session", a.sessionID, "err", err)
			return
		}
		if len(pending) == 0 {
			// Check again under the lock: a dispatch that saw the flag has
			// already saved its message, so it is visible now.
			a.mu.Lock()
			pending, err = a.e.o.Store.PendingInboundForSession(a.e.base, a.sessionID, a.lastID)
			if err == nil && len(pending) == 0 {
				a.backlog = false
				a.mu.Unlock()
				return
			}
			a.mu.Unlock()
		}
		for _, m := range pending {
			if a.isClosed() {
				return
			}
			a.handle(m)
		}
	}
}

// tryExit ends an idle actor unless work arrived meanwhile.
func (a *actor) tryExit() bool {
	a.e.mu.Lock()
	defer a.e.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.mailbox) > 0 || a.backlog {
		return false
	}
	delete(a.e.actors, a.sessionID)
	return true
}

func (a *actor) exit() {
	a.e.mu.Lock()
	if a.e.actors[a.sessionID] == a {
		delete(a.e.actors, a.sessionID)
	}
	a.e.mu.Unlock()
}

func (a *actor) handle(m engine.StoredInbound) {
	if m.ID <= a.lastID || m.Status != engine.InboxPending {
		return
	}
	a.lastID = m.ID
	a.e.runTurn(a, m)
}
