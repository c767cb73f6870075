package postgres

import (
	"testing"
	"time"
)

// WaitFor polls cond every interval until it holds, failing tb when
// timeout passes first (what names the awaited state). It is the tests'
// and benchmarks' way to wait for background work such as the absorber:
// polling with a deadline, no fixed sleeps. Exported to the external test
// package.
func WaitFor(tb testing.TB, what string, interval, timeout time.Duration, cond func() bool) {
	tb.Helper()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-deadline:
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}
