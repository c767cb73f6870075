package repl

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// interactiveREPL runs an interactive console over a pipe (x/term without
// raw mode, since a pipe is not a terminal) and returns the writing end.
func interactiveREPL(t *testing.T, hist string, sink *fakeSink, mk func(r *REPL)) (*io.PipeWriter, *syncBuffer, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: pr, Out: out, Interactive: true, HistoryFile: hist})
	sink.r = r
	if mk != nil {
		mk(r)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	go func() { done <- r.Run(ctx, sink) }()
	return pw, out, done
}

func waitAccepted(t *testing.T, sink *fakeSink) engine.Inbound {
	t.Helper()
	select {
	case in := <-sink.accepted:
		return in
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the sink")
		return engine.Inbound{}
	}
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestInteractiveEditingCtrlCStopAndHistory(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "history")
	release := make(chan struct{})
	sink := newFakeSink(nil)
	pw, out, done := interactiveREPL(t, hist, sink, func(r *REPL) {
		sink.answer = func(in engine.Inbound) {
			<-release
			streamAnswer(t, r, "Hi ", "there")(in)
		}
	})

	// "helo", backspace, "lo", Enter: line editing yields "hello".
	io.WriteString(pw, "helo\x7flo\r")
	if in := waitAccepted(t, sink); in.Text != "hello" {
		t.Fatalf("sent %q, want hello", in.Text)
	}
	// Ctrl-C while the answer is pending sends /stop instead of quitting.
	io.WriteString(pw, "\x03")
	if in := waitAccepted(t, sink); in.Text != "/stop" {
		t.Fatalf("Ctrl-C sent %q, want /stop", in.Text)
	}
	close(release)
	io.WriteString(pw, "\x04") // Ctrl-D: end of input, after the answer
	waitRun(t, done)
	pw.Close()

	if got := out.String(); strings.Count(got, "Hi there\r\n") != 1 {
		t.Fatalf("answer not printed exactly once as a line: %q", got)
	}
	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "hello\n" {
		t.Fatalf("history file = %q", data)
	}

	// A new console loads the history: Up, Enter resends the line.
	sink2 := newFakeSink(func(engine.Inbound) {})
	sink2.status = func(engine.Inbound) engine.ReceiptStatus { return engine.Ignored }
	pw2, _, done2 := interactiveREPL(t, hist, sink2, nil)
	io.WriteString(pw2, "\x1b[A\r")
	if in := waitAccepted(t, sink2); in.Text != "hello" {
		t.Fatalf("history recall sent %q", in.Text)
	}
	io.WriteString(pw2, "\x04")
	waitRun(t, done2)
	pw2.Close()
}

func TestInteractiveCtrlCWhenIdleQuits(t *testing.T) {
	sink := newFakeSink(nil)
	pw, _, done := interactiveREPL(t, "", sink, nil)
	io.WriteString(pw, "\x03")
	waitRun(t, done)
	pw.Close()
	if len(sink.texts()) != 0 {
		t.Fatalf("engine got %q", sink.texts())
	}
}

func TestInteractiveStreamShowsPartialLineInPrompt(t *testing.T) {
	sink := newFakeSink(nil)
	var r *REPL
	release := make(chan struct{})
	pw, out, done := interactiveREPL(t, "", sink, func(rr *REPL) {
		r = rr
		sink.answer = func(in engine.Inbound) { <-release }
	})
	io.WriteString(pw, "q\r")
	in := waitAccepted(t, sink)
	ctx := context.Background()
	if err := r.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: "line one\nhalf", Delta: "line one\nhalf"}); err != nil {
		t.Fatal(err)
	}
	// The terminal redraws its prompt line on its own goroutine: poll.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for got := out.String(); !strings.Contains(got, "line one\r\n") || !strings.Contains(got, "half"+streamCursor); got = out.String() {
		if time.Now().After(deadline) {
			t.Fatalf("streamed output %q: want the full line written and the partial one in the prompt", got)
		}
		<-tick.C
	}
	if _, err := r.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "line one\nhalf done", Final: true}); err != nil {
		t.Fatal(err)
	}
	close(release)
	io.WriteString(pw, "\x04")
	waitRun(t, done)
	pw.Close()
	got := out.String()
	if strings.Count(got, "line one") != 1 || !strings.Contains(got, "half done\r\n") {
		t.Fatalf("output %q: want each line once", got)
	}
	if strings.LastIndex(got, DefaultPrompt) < strings.LastIndex(got, "half done") {
		t.Fatalf("idle prompt not restored: %q", got)
	}
}
