package channelkit

import (
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// Waiters is the registry of a request-response channel (a webhook, an
// API): the requests waiting for the engine's answer to the inbound
// message they handed over. W is the adapter's waiter, which collects
// the answer.
//
// A handler registers the message id before Sink.Accept (the answer may
// come before Accept returns) and releases it when it returns, whatever
// happened to the client (defer), so no entry outlives its request and
// an answer that comes after the client left finds nothing. Requests with
// the same message id (a client's retry while the first still waits)
// share one waiter, counted. Send finds the waiter an outbound message
// answers by To.ReplyTo (the inbound MessageID) or, once Bind tied the
// engine's stored id to the message, by InboundID.
//
// It is safe for concurrent use.
type Waiters[W any] struct {
	mu        sync.Mutex
	byMsg     map[string]waitEntry[W]
	byInbound map[int64]string
}

type waitEntry[W any] struct {
	w       W
	refs    int
	inbound int64 // the bound inbound id, 0 before Bind
}

// NewWaiters returns an empty registry.
func NewWaiters[W any]() *Waiters[W] {
	return &Waiters[W]{byMsg: make(map[string]waitEntry[W]), byInbound: make(map[int64]string)}
}

// Acquire returns the waiter of msgID (not empty), made with newWaiter
// when none is registered, and counts one more request on it. Every
// Acquire must be paired with one Release.
func (g *Waiters[W]) Acquire(msgID string, newWaiter func() W) W {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.byMsg[msgID]
	if !ok {
		e.w = newWaiter()
	}
	e.refs++
	g.byMsg[msgID] = e
	return e.w
}

// Bind lets outbound messages that carry only the inbound id (the
// Receipt's ID) find msgID's waiter. The first binding of a waiter
// stays; a zero id or an unregistered msgID is ignored.
func (g *Waiters[W]) Bind(inboundID int64, msgID string) {
	if inboundID == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.byMsg[msgID]; ok && e.inbound == 0 {
		e.inbound = inboundID
		g.byMsg[msgID] = e
		g.byInbound[inboundID] = msgID
	}
}

// Release drops one request's hold on msgID's waiter; the last one
// removes it and its binding.
func (g *Waiters[W]) Release(msgID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.byMsg[msgID]
	if !ok {
		return
	}
	if e.refs--; e.refs > 0 {
		g.byMsg[msgID] = e
		return
	}
	delete(g.byMsg, msgID)
	if e.inbound != 0 && g.byInbound[e.inbound] == msgID {
		delete(g.byInbound, e.inbound)
	}
}

// Lookup returns the waiter msg answers: the one registered under
// msg.To.ReplyTo, else the one bound to msg.InboundID. ok is false when
// no request waits for it.
func (g *Waiters[W]) Lookup(msg engine.Outbound) (w W, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var e waitEntry[W]
	if msg.To.ReplyTo != "" {
		e, ok = g.byMsg[msg.To.ReplyTo]
	}
	if !ok && msg.InboundID != 0 {
		if id, found := g.byInbound[msg.InboundID]; found {
			e, ok = g.byMsg[id]
		}
	}
	if !ok {
		return w, false
	}
	return e.w, true
}

// Len reports the registered message ids and the bound inbound ids.
func (g *Waiters[W]) Len() (messages, bound int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byMsg), len(g.byInbound)
}
