package channelkit

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

type acceptAll struct{}

func (acceptAll) Accept(context.Context, engine.Inbound) (engine.Receipt, error) {
	return engine.Receipt{Status: engine.Queued}, nil
}

// TestHTTPServerServeFailure: when serving fails (here the listener is
// closed under it), Run returns the error and the state is failed.
func TestHTTPServerServeFailure(t *testing.T) {
	s := NewHTTPServer(HTTPOptions{Name: "chan", Listen: "127.0.0.1:0", Handler: http.NotFoundHandler()})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), acceptAll{}) }()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.Health().Snapshot().State != StateConnected {
		if time.Now().After(deadline) {
			t.Fatal("never connected")
		}
		<-tick.C
	}
	s.mu.Lock()
	s.ln.Close()
	s.mu.Unlock()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if err == nil || !strings.HasPrefix(err.Error(), "chan: serve: ") {
		t.Fatalf("Run = %v, want a serve error", err)
	}
	h := s.Health().Snapshot()
	if h.State != StateFailed || h.LastError != err.Error() {
		t.Fatalf("health %+v", h)
	}
	if s.Sink() != nil || s.Addr() != "" {
		t.Fatal("sink or listener kept after a failed Run")
	}
	select {
	case <-s.Stopping():
	default:
		t.Fatal("stopping not closed")
	}
}
