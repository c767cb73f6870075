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

// add folds a reply or notice into the result; false for other kinds,
// which are left out.
func (r *result) add(msg engine.Outbound) bool {
	switch msg.Kind {
	case engine.KindReply:
		if msg.Text != "" {
			r.replies = append(r.replies, msg.Text)
		}
		if msg.Final {
			r.final = true
		}
	case engine.KindNotice:
		r.notices = append(r.notices, msg.Text)
	default:
		return false
	}
	r.failed = r.failed || msg.Error
	return true
}

// waiter collects the answer of one message for the requests waiting on
// it (a retried request with the same id shares the waiter: the registry
// is a channelkit.Waiters).
type waiter struct {
	mu     sync.Mutex
	res    result
	closed bool
	done   chan struct{}
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

// add records a reply or notice; false when the answer was already
// complete or msg is of another kind.
func (w *waiter) add(msg engine.Outbound) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || !w.res.add(msg) {
		return false
	}
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
