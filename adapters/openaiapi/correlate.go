package openaiapi

import (
	"strings"
	"sync"

	"github.com/hearthbot/hearth/engine"
)

// callSeparator goes between the texts of two model calls of one turn
// (text before a tool call, then the answer after it) in a stream.
const callSeparator = "\n\n"

// waiter collects the answer to one request. The engine's goroutines add
// to it (Stream, Send) without ever blocking on the client; the request's
// handler takes what arrived and writes it.
type waiter struct {
	stream bool          // the client wants deltas
	notify chan struct{} // capacity 1: something arrived
	done   chan struct{} // closed when the answer is complete

	mu      sync.Mutex
	pending strings.Builder // streamed text not yet taken
	current string          // the current model call's text so far
	emitted bool            // some text was streamed
	replies []string        // non-final replies, in order
	final   *engine.Outbound
}

func newWaiter(stream bool) *waiter {
	return &waiter{stream: stream, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

func (w *waiter) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// delta adds streamed text. msg.Text is the current model call's text so
// far; what it adds to the previous delta is the new piece. A text that
// does not continue the previous one starts a new model call of the same
// turn.
func (w *waiter) delta(msg engine.Outbound) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stream || w.final != nil || msg.Text == "" {
		return
	}
	switch {
	case w.current != "" && strings.HasPrefix(msg.Text, w.current):
		w.pending.WriteString(msg.Text[len(w.current):])
	case w.emitted:
		w.pending.WriteString(callSeparator)
		w.pending.WriteString(msg.Text)
	default:
		w.pending.WriteString(msg.Text)
	}
	w.current = msg.Text
	w.emitted = true
	w.poke()
}

// add records a reply or notice; it reports whether the answer is now
// complete (a final reply, or a notice, ends the request).
func (w *waiter) add(msg engine.Outbound) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != nil {
		return false
	}
	if msg.Kind == engine.KindReply && !msg.Final {
		w.replies = append(w.replies, msg.Text)
		w.poke()
		return false
	}
	w.final = &msg
	close(w.done)
	w.poke()
	return true
}

// take returns the streamed text that arrived since the last take and,
// once the answer is complete, the rest of it: the part of the final text
// the stream has not shown. ok reports completion; final is the ending
// message then.
func (w *waiter) take() (text string, final engine.Outbound, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.replies {
		if w.emitted {
			w.pending.WriteString(callSeparator)
		}
		w.pending.WriteString(r)
		w.current, w.emitted = "", true
	}
	w.replies = nil
	if w.final != nil {
		final, ok = *w.final, true
		if !final.Error {
			w.pending.WriteString(w.rest(final.Text))
		}
		w.current = final.Text
	}
	text = w.pending.String()
	w.pending.Reset()
	return text, final, ok
}

// rest is what a stream still has to show of the final text: its tail
// when the stream showed its beginning, all of it (after a separator)
// when the stream showed something else (an earlier model call's text,
// or text the outbound guard changed).
func (w *waiter) rest(final string) string {
	switch {
	case !w.emitted:
		return final
	case w.current != "" && strings.HasPrefix(final, w.current):
		return final[len(w.current):]
	}
	return callSeparator + final
}

// answer is the whole text of a complete non-streamed answer.
func (w *waiter) answer() engine.Outbound {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := *w.final
	if len(w.replies) > 0 && !out.Error {
		out.Text = strings.Join(append(append([]string(nil), w.replies...), out.Text), callSeparator)
	}
	return out
}
