package repl

import (
	"context"
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// tracker follows each console message from acceptance to its answer, so
// that Run can return at end of input only once every accepted message has
// been answered. Send runs on engine goroutines and may see the answer
// before Accept has returned, so an entry records what it saw on both sides
// and is finished when the two together say so.
type tracker struct {
	mu        sync.Mutex
	entries   map[string]*trackEntry // by platform message id
	byInbound map[int64]string       // engine inbound id → message id
	changed   chan struct{}          // signalled (capacity 1) on every removal
	// onChange is called with the number of open entries after every
	// change, under the tracker's lock.
	onChange func(open int)
}

type trackEntry struct {
	status    engine.ReceiptStatus // "" until Accept returned
	inboundID int64
	final     bool // a final reply or notice (or an error) arrived
	notice    bool // a notice arrived
}

func newTracker(onChange func(open int)) *tracker {
	if onChange == nil {
		onChange = func(int) {}
	}
	return &tracker{
		entries:   make(map[string]*trackEntry),
		byInbound: make(map[int64]string),
		changed:   make(chan struct{}, 1),
		onChange:  onChange,
	}
}

// done reports whether the entry needs no more waiting.
func (e *trackEntry) done() bool {
	if e.final {
		return true
	}
	switch e.status {
	case "", engine.Queued, engine.Handled:
		// A turn ends with a final reply or notice; a control command
		// (/stop, /new) is answered by a final notice.
		return false
	case engine.PairingRequired:
		return e.notice
	default: // duplicate, ignored, denied: no answer will come
		return true
	}
}

// add opens an entry before the message is handed to the sink.
func (t *tracker) add(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries[id] = &trackEntry{}
	t.onChange(len(t.entries))
}

// receipt records the sink's answer for id.
func (t *tracker) receipt(id string, r engine.Receipt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[id]
	if !ok {
		return
	}
	e.status = r.Status
	if r.ID != 0 {
		e.inboundID = r.ID
		t.byInbound[r.ID] = id
	}
	t.settleLocked(id, e)
}

// drop forgets id (Accept failed: nothing will answer it).
func (t *tracker) drop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.entries[id]; ok {
		t.removeLocked(id, e)
	}
}

// observe records an outbound event that may answer a tracked message.
func (t *tracker) observe(msg engine.Outbound) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := msg.To.ReplyTo
	e, ok := t.entries[id]
	if !ok && msg.InboundID != 0 {
		id, ok = t.byInbound[msg.InboundID]
		if ok {
			e, ok = t.entries[id]
		}
	}
	if !ok {
		return
	}
	switch msg.Kind {
	case engine.KindReply:
		if msg.Final || msg.Error {
			e.final = true
		}
	case engine.KindNotice:
		e.notice = true
		if msg.Final || msg.Error {
			e.final = true
		}
	default:
		return
	}
	t.settleLocked(id, e)
}

func (t *tracker) settleLocked(id string, e *trackEntry) {
	if e.done() {
		t.removeLocked(id, e)
	}
}

func (t *tracker) removeLocked(id string, e *trackEntry) {
	delete(t.entries, id)
	if e.inboundID != 0 {
		delete(t.byInbound, e.inboundID)
	}
	t.onChange(len(t.entries))
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// open returns the number of messages still waiting for an answer.
func (t *tracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// wait blocks until no message is waiting or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	for t.open() > 0 {
		select {
		case <-t.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
