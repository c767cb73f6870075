package webhook

import (
	"strconv"
	"strings"
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// messageID builds the platform message id of a request: the client's id
// (or a generated one) namespaced by the sender, so two clients that both
// send id "1" are neither deduplicated against each other nor handed each
// other's answers. The sender's length prefix keeps it unambiguous.
func messageID(user, clientID string) string {
	return strconv.Itoa(len(user)) + ":" + user + ":" + clientID
}

// splitMessageID undoes messageID; ok is false for ids not made by it.
func splitMessageID(id string) (user, clientID string, ok bool) {
	n, rest, found := strings.Cut(id, ":")
	if !found {
		return "", "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l >= len(rest) || rest[l] != ':' {
		return "", "", false
	}
	return rest[:l], rest[l+1:], true
}

// result is what a synchronous request has received so far.
type result struct {
	replies []string
	notices []string
	final   bool // a final reply arrived
	failed  bool // a reply or notice reports a failure
}

// done reports whether the request can be answered: a final reply, or a
// notice (a pairing code, an approval question), which ends the request.
func (r result) done() bool { return r.final || len(r.notices) > 0 }

// waiter collects the answer of one message for the requests waiting on
// it (a retried request with the same id shares the waiter).
type waiter struct {
	refs    int   // guarded by registry.mu
	inbound int64 // guarded by registry.mu; the bound inbound id

	mu     sync.Mutex
	res    result
	closed bool
	done   chan struct{}
}

func (w *waiter) add(msg engine.Outbound) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	switch msg.Kind {
	case engine.KindReply:
		if msg.Text != "" {
			w.res.replies = append(w.res.replies, msg.Text)
		}
		if msg.Final {
			w.res.final = true
		}
	case engine.KindNotice:
		w.res.notices = append(w.res.notices, msg.Text)
	default:
		return false
	}
	w.res.failed = w.res.failed || msg.Error
	if w.res.done() {
		w.closed = true
		close(w.done)
	}
	return true
}

func (w *waiter) result() result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.res
}

// registry maps message ids (and, once Accept returned, inbound ids) to
// the waiters of synchronous requests. Every acquire is paired with a
// release when the handler returns, whatever happened to the client, so
// entries never outlive their requests.
type registry struct {
	mu        sync.Mutex
	byMsg     map[string]*waiter
	byInbound map[int64]string
}

func newRegistry() *registry {
	return &registry{byMsg: make(map[string]*waiter), byInbound: make(map[int64]string)}
}

// acquire returns the waiter of msgID, creating it if needed.
func (g *registry) acquire(msgID string) *waiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	w, ok := g.byMsg[msgID]
	if !ok {
		w = &waiter{done: make(chan struct{})}
		g.byMsg[msgID] = w
	}
	w.refs++
	return w
}

// bind lets outbound messages that carry only the inbound id find msgID.
func (g *registry) bind(inboundID int64, msgID string) {
	if inboundID == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w, ok := g.byMsg[msgID]; ok && w.inbound == 0 {
		w.inbound = inboundID
		g.byInbound[inboundID] = msgID
	}
}

// release drops one reference to msgID's waiter.
func (g *registry) release(msgID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w, ok := g.byMsg[msgID]
	if !ok {
		return
	}
	if w.refs--; w.refs > 0 {
		return
	}
	delete(g.byMsg, msgID)
	if w.inbound != 0 && g.byInbound[w.inbound] == msgID {
		delete(g.byInbound, w.inbound)
	}
}

// deliver hands msg to the waiter it answers; false when none waits.
func (g *registry) deliver(msg engine.Outbound) bool {
	g.mu.Lock()
	w, ok := g.byMsg[msg.To.ReplyTo]
	if !ok && msg.InboundID != 0 {
		if id, found := g.byInbound[msg.InboundID]; found {
			w, ok = g.byMsg[id]
		}
	}
	g.mu.Unlock()
	return ok && w.add(msg)
}

// size is the number of registered message ids and inbound ids (tests).
func (g *registry) size() (int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byMsg), len(g.byInbound)
}
