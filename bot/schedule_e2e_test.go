package bot

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/internal/fakellm"
)

// syncBuffer is a concurrency-safe output buffer with change signals.
type syncBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := s.b.Write(p)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return n, nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for !strings.Contains(s.String(), want) {
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("console never printed %q:\n%s", want, s.String())
		}
	}
}

// In the console: "remind me shortly" becomes a one-time routine that
// fires a few seconds later and prints its reminder; /routines and
// /heartbeat show the scheduler's state.
func TestScheduleThroughTheConsole(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetResponder(func(req fakellm.Request) fakellm.Reply {
		last := req.LastUser()
		switch {
		case strings.HasPrefix(last, "[Scheduled routine"):
			return fakellm.Reply{Text: "Time to stretch!"}
		case len(req.ToolResults()) > 0 && strings.Contains(last, "stretch"):
			return fakellm.Reply{Text: "OK, in a moment."}
		case strings.Contains(last, "stretch"):
			at := time.Now().Add(2 * time.Second).UTC().Format("2006-01-02T15:04:05")
			args, _ := json.Marshal(map[string]string{"name": "Stretch", "prompt": "Tell the user to stretch.", "at": at, "timezone": "UTC"})
			return fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "c1", Name: "routine_create", Args: string(args)}}}
		}
		return fakellm.Reply{Text: "echo: " + last}
	})
	cfg := loadConfig(t, f.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")
	in, inw := io.Pipe()
	out := &syncBuffer{changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := New(ctx, cfg, Options{Mode: ModeREPL, Stdin: in, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, 5*time.Second) }()

	io.WriteString(inw, "remind me in a moment to stretch\n")
	out.waitFor(t, "OK, in a moment.")
	out.waitFor(t, "Time to stretch!")
	io.WriteString(inw, "/routines\n")
	out.waitFor(t, "Stretch")
	io.WriteString(inw, "/heartbeat\n")
	out.waitFor(t, "heartbeat: on, every 30m0s")
	inw.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not stop")
	}
	runs, err := b.RoutineList(context.Background(), "")
	if err != nil || len(runs) != 1 || runs[0].Status != "done" {
		t.Fatalf("routines after the run: %+v %v", runs, err)
	}
}
