package channelkit_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// probe is a waiter that remembers which acquire made it.
type probe struct{ madeFor string }

// waitStep is one operation on a registry and what it must observe.
type waitStep struct {
	op      string // acquire, release, bind, lookup, len
	msg     string // message id (acquire, release, bind) or To.ReplyTo (lookup)
	inbound int64  // bind, lookup
	want    string // acquire, lookup: madeFor of the waiter ("" none); len: "messages,bound"
}

func TestWaiters(t *testing.T) {
	tests := []struct {
		name  string
		steps []waitStep
	}{
		{"found by reply-to", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "lookup", msg: "a", want: "a"},
			{op: "lookup", msg: "b", want: ""},
			{op: "lookup", msg: "", want: ""},
			{op: "len", want: "1,0"},
		}},
		{"a retry shares the waiter until the last release", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "acquire", msg: "a", want: "a"},
			{op: "len", want: "1,0"},
			{op: "release", msg: "a"},
			{op: "lookup", msg: "a", want: "a"},
			{op: "release", msg: "a"},
			{op: "lookup", msg: "a", want: ""},
			{op: "len", want: "0,0"},
		}},
		{"a new request after the release gets a new waiter", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "release", msg: "a"},
			{op: "acquire", msg: "a", want: "a (2)"},
		}},
		{"bound inbound id finds the waiter", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "bind", msg: "a", inbound: 7},
			{op: "len", want: "1,1"},
			{op: "lookup", inbound: 7, want: "a"},
			{op: "lookup", msg: "other", inbound: 7, want: "a"},
			{op: "lookup", inbound: 8, want: ""},
			{op: "release", msg: "a"},
			{op: "len", want: "0,0"},
			{op: "lookup", inbound: 7, want: ""},
		}},
		{"reply-to wins over the inbound id", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "acquire", msg: "b", want: "b"},
			{op: "bind", msg: "b", inbound: 7},
			{op: "lookup", msg: "a", inbound: 7, want: "a"},
		}},
		{"zero and unregistered bindings are ignored", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "bind", msg: "a", inbound: 0},
			{op: "bind", msg: "nobody", inbound: 5},
			{op: "len", want: "1,0"},
			{op: "lookup", inbound: 5, want: ""},
		}},
		{"the first binding stays", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "bind", msg: "a", inbound: 7},
			{op: "bind", msg: "a", inbound: 8},
			{op: "lookup", inbound: 8, want: ""},
			{op: "lookup", inbound: 7, want: "a"},
			{op: "len", want: "1,1"},
		}},
		{"a release keeps another message's binding of the same id", []waitStep{
			{op: "acquire", msg: "a", want: "a"},
			{op: "acquire", msg: "b", want: "b"},
			{op: "bind", msg: "a", inbound: 7},
			{op: "bind", msg: "b", inbound: 7},
			{op: "release", msg: "a"},
			{op: "lookup", inbound: 7, want: "b"},
			{op: "len", want: "1,1"},
		}},
		{"releasing an unknown id does nothing", []waitStep{
			{op: "release", msg: "x"},
			{op: "acquire", msg: "a", want: "a"},
			{op: "release", msg: "x"},
			{op: "len", want: "1,0"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := channelkit.NewWaiters[*probe]()
			made := map[string]int{}
			for i, s := range tc.steps {
				var got string
				switch s.op {
				case "acquire":
					p := g.Acquire(s.msg, func() *probe {
						made[s.msg]++
						name := s.msg
						if n := made[s.msg]; n > 1 {
							name = fmt.Sprintf("%s (%d)", s.msg, n)
						}
						return &probe{madeFor: name}
					})
					got = p.madeFor
				case "release":
					g.Release(s.msg)
					continue
				case "bind":
					g.Bind(s.inbound, s.msg)
					continue
				case "lookup":
					msg := engine.Outbound{To: engine.Address{ReplyTo: s.msg}, InboundID: s.inbound}
					if p, ok := g.Lookup(msg); ok {
						got = p.madeFor
					}
				case "len":
					m, b := g.Len()
					got = fmt.Sprintf("%d,%d", m, b)
				default:
					t.Fatalf("step %d: unknown op %q", i, s.op)
				}
				if got != s.want {
					t.Fatalf("step %d (%s %q %d) = %q, want %q", i, s.op, s.msg, s.inbound, got, s.want)
				}
			}
		})
	}
}

// TestWaitersConcurrent registers, finds and releases from many
// goroutines at once (run with -race); nothing is left behind.
func TestWaitersConcurrent(t *testing.T) {
	const n = 64
	g := channelkit.NewWaiters[*probe]()
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("m%d", i)
			mine := g.Acquire(id, func() *probe { return &probe{madeFor: id} })
			defer g.Release(id)
			shared := g.Acquire("shared", func() *probe { return &probe{madeFor: "shared"} })
			defer g.Release("shared")
			g.Bind(int64(i+1), id)
			if p, ok := g.Lookup(engine.Outbound{InboundID: int64(i + 1)}); !ok || p != mine {
				errs <- fmt.Errorf("%s: lookup by inbound id found %v, %v", id, p, ok)
			}
			if p, ok := g.Lookup(engine.Outbound{To: engine.Address{ReplyTo: "shared"}}); !ok || p.madeFor != "shared" {
				errs <- fmt.Errorf("%s: shared waiter %v, %v", id, p, ok)
			} else if p != shared {
				errs <- fmt.Errorf("%s: the shared waiter was made twice while held", id)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m, b := g.Len(); m != 0 || b != 0 {
		t.Fatalf("left %d message and %d inbound entries", m, b)
	}
}
