package kittest

import (
	"testing"
	"time"
)

// EventuallyLimit is how long Eventually waits before it fails the test;
// a passing test never comes near it.
const EventuallyLimit = 10 * time.Second

// Eventually polls cond every 2ms until it holds, and fails t, naming
// what it waited for, when EventuallyLimit passes first: for state that
// another goroutine reaches with nothing to wait on (a registry emptied
// after a client left).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(EventuallyLimit)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
