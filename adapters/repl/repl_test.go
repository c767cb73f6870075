package repl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// syncBuffer is a bytes.Buffer safe for the console's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeSink accepts every message and lets the test decide how to answer.
type fakeSink struct {
	mu       sync.Mutex
	got      []engine.Inbound
	accepted chan engine.Inbound
	// status decides the receipt (nil: Queued, "/stop" and "/new":
	// Handled, answered with a notice through r).
	status func(engine.Inbound) engine.ReceiptStatus
	r      *REPL
	// answer runs in its own goroutine for every queued message.
	answer func(engine.Inbound)
	err    error
}

func newFakeSink(answer func(engine.Inbound)) *fakeSink {
	return &fakeSink{accepted: make(chan engine.Inbound, 64), answer: answer}
}

func (s *fakeSink) Accept(_ context.Context, in engine.Inbound) (engine.Receipt, error) {
	if s.err != nil {
		return engine.Receipt{}, s.err
	}
	s.mu.Lock()
	s.got = append(s.got, in)
	id := int64(len(s.got))
	s.mu.Unlock()
	st := engine.Queued
	if s.status != nil {
		st = s.status(in)
	} else if in.Text == "/stop" || in.Text == "/new" {
		st = engine.Handled
	}
	if st == engine.Queued && s.answer != nil {
		go s.answer(in)
	}
	if st == engine.Handled && s.r != nil {
		// As the engine does: a control command is answered by a notice.
		go s.r.Send(context.Background(), engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: "handled " + in.Text, Final: true, InboundID: id})
	}
	s.accepted <- in
	return engine.Receipt{Status: st, ID: id, MessageID: in.MessageID, UserID: "u-owner"}, nil
}

func (s *fakeSink) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, in := range s.got {
		out = append(out, in.Text)
	}
	return out
}

// streamAnswer streams pieces and then sends the final reply.
func streamAnswer(t *testing.T, r *REPL, pieces ...string) func(engine.Inbound) {
	return func(in engine.Inbound) {
		ctx := context.Background()
		full := ""
		for _, p := range pieces {
			full += p
			if err := r.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: full, Delta: p}); err != nil {
				t.Errorf("Stream: %v", err)
			}
		}
		if _, err := r.Send(ctx, engine.Outbound{ID: 7, Kind: engine.KindReply, To: in.ReplyAddress(), Text: full, Final: true}); err != nil {
			t.Errorf("Send: %v", err)
		}
	}
}

func newTestREPL(t *testing.T, opts Options) *REPL {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// runREPL runs r and fails the test if it does not return in time.
func runREPL(t *testing.T, r *REPL, sink engine.Sink) {
	t.Helper()
	if fs, ok := sink.(*fakeSink); ok {
		fs.r = r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx, sink); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only because the test deadline passed")
	}
}

func TestPipedStreamedReplyIsPrintedOnce(t *testing.T) {
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader("hello\n"), Out: out})
	sink := newFakeSink(nil)
	sink.answer = streamAnswer(t, r, "Hel", "lo ", "wor", "ld")
	runREPL(t, r, sink)

	if got := out.String(); got != "Hello world\n" {
		t.Fatalf("output = %q, want %q", got, "Hello world\n")
	}
	in := sink.got[0]
	if in.Channel != "repl" || in.Conversation != "console" || in.Sender.ID != "owner" || !in.Direct || in.Text != "hello" || in.MessageID == "" {
		t.Fatalf("inbound = %+v", in)
	}
}

// eofReader reports when it has returned io.EOF.
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}

func TestEOFWaitsForPendingReplies(t *testing.T) {
	in := &eofReader{r: strings.NewReader("one\ntwo\n"), eof: make(chan struct{})}
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: in, Out: out})
	sink := newFakeSink(nil)
	sink.answer = func(m engine.Inbound) {
		if m.Text == "two" {
			<-in.eof // answer the last line only after input has ended
		}
		streamAnswer(t, r, "re: ", m.Text)(m)
	}
	runREPL(t, r, sink)
	got := out.String()
	for _, want := range []string{"re: one\n", "re: two\n"} {
		if strings.Count(got, want) != 1 {
			t.Fatalf("output %q: want %q exactly once", got, want)
		}
	}
}

func TestTrackerWaitNeedsAnAnswer(t *testing.T) {
	tr := newTracker(nil)
	tr.add("m1")
	tr.receipt("m1", engine.Receipt{Status: engine.Queued, ID: 9})
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.wait(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a pending message = %v, want context.Canceled", err)
	}
	// A notice that is not an error does not answer a queued message.
	tr.observe(engine.Outbound{Kind: engine.KindNotice, To: engine.Address{ReplyTo: "m1"}, Text: "approve?"})
	if tr.open() != 1 {
		t.Fatal("a plain notice settled a queued message")
	}
	// The final reply, matched by inbound id, does.
	tr.observe(engine.Outbound{Kind: engine.KindReply, InboundID: 9, Final: true})
	if err := tr.wait(context.Background()); err != nil {
		t.Fatalf("wait after the answer: %v", err)
	}
}

func TestTrackerSettles(t *testing.T) {
	tests := []struct {
		name    string
		status  engine.ReceiptStatus
		before  []engine.Outbound // sent before Accept returned
		after   []engine.Outbound
		settled bool
	}{
		{"queued without answer", engine.Queued, nil, nil, false},
		{"answer before receipt", engine.Queued, []engine.Outbound{{Kind: engine.KindReply, Final: true}}, nil, true},
		{"non-final reply", engine.Queued, nil, []engine.Outbound{{Kind: engine.KindReply}}, false},
		{"error notice", engine.Queued, nil, []engine.Outbound{{Kind: engine.KindNotice, Error: true}}, true},
		{"final notice (stopped)", engine.Queued, nil, []engine.Outbound{{Kind: engine.KindNotice, Final: true}}, true},
		{"handled waits for its notice", engine.Handled, nil, nil, false},
		{"handled with notice", engine.Handled, nil, []engine.Outbound{{Kind: engine.KindNotice, Final: true}}, true},
		{"duplicate", engine.Duplicate, nil, nil, true},
		{"denied", engine.Denied, nil, nil, true},
		{"ignored", engine.Ignored, nil, nil, true},
		{"pairing waits for notice", engine.PairingRequired, nil, nil, false},
		{"pairing notice first", engine.PairingRequired, []engine.Outbound{{Kind: engine.KindNotice}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(nil)
			tr.add("m")
			for _, o := range tc.before {
				o.To.ReplyTo = "m"
				tr.observe(o)
			}
			tr.receipt("m", engine.Receipt{Status: tc.status})
			for _, o := range tc.after {
				o.To.ReplyTo = "m"
				tr.observe(o)
			}
			if settled := tr.open() == 0; settled != tc.settled {
				t.Fatalf("settled = %v, want %v", settled, tc.settled)
			}
		})
	}
}

func TestFinalReplyDifferentFromStreamIsShownRevised(t *testing.T) {
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader("hi\n"), Out: out})
	sink := newFakeSink(nil)
	sink.answer = func(in engine.Inbound) {
		ctx := context.Background()
		r.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: "key sk-123", Delta: "key sk-123"})
		r.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "key [redacted]", Final: true})
	}
	runREPL(t, r, sink)
	if got, want := out.String(), "key sk-123\n[revised] key [redacted]\n"; got != want {
		t.Fatalf("output = %q, want %q", got, want)
	}
}

func TestNoticesErrorsAndStatusLines(t *testing.T) {
	out, diag := &syncBuffer{}, &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader("hi\n"), Out: out, Err: diag})
	sink := newFakeSink(nil)
	sink.answer = func(in engine.Inbound) {
		ctx := context.Background()
		to := in.ReplyAddress()
		r.Send(ctx, engine.Outbound{Kind: engine.KindTyping, To: to})
		r.Send(ctx, engine.Outbound{Kind: engine.KindStatus, To: to, Text: "running tool time"})
		r.Send(ctx, engine.Outbound{Kind: engine.KindNotice, To: to, Text: "heads up"})
		r.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: to, Text: "the model failed\x1b[2J", Final: true, Error: true})
	}
	runREPL(t, r, sink)
	if got, want := out.String(), "[error] the model failed[2J\n"; got != want {
		t.Fatalf("out = %q, want %q (escape removed)", got, want)
	}
	if got, want := diag.String(), "[notice] heads up\n"; got != want {
		t.Fatalf("diagnostics = %q, want %q (status lines only when interactive)", got, want)
	}
}

func TestAcceptErrorIsReportedAndInputContinues(t *testing.T) {
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader("a\nb\n"), Out: out})
	sink := newFakeSink(nil)
	sink.err = errors.New("store is down")
	runREPL(t, r, sink)
	if got := strings.Count(out.String(), "[error] message not accepted: store is down\n"); got != 2 {
		t.Fatalf("output %q: want the error for both lines", out.String())
	}
	if h := r.Health(); h.State != "stopped" || h.LastError != "store is down" {
		t.Fatalf("health = %+v", h)
	}
}

func TestProactiveMessageWithoutReplyTo(t *testing.T) {
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader(""), Out: out})
	to := engine.Address{Channel: ChannelName, Conversation: Conversation}
	ctx := context.Background()
	r.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: to, Delta: "Reminder: "})
	r.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: to, Delta: "stretch"})
	sent, err := r.Send(ctx, engine.Outbound{ID: 42, Kind: engine.KindReply, To: to, Text: "Reminder: stretch", Final: true})
	if err != nil || sent.ID != "42" {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	if got := out.String(); got != "Reminder: stretch\n" {
		t.Fatalf("output = %q", got)
	}
}

func TestHistoryPersistsBoundedAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "history")
	h, err := loadHistory(path, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"a", "b", "b", "  ", "c", "d"} {
		h.Add(e)
	}
	if h.Len() != 3 || h.At(0) != "d" || h.At(2) != "b" {
		t.Fatalf("history = %v", h.entries)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("history mode = %v, want 0600", fi.Mode().Perm())
	}
	h2, err := loadHistory(path, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Len() != 2 || h2.At(0) != "d" || h2.At(1) != "c" {
		t.Fatalf("reloaded = %v", h2.entries)
	}
}

func TestPlainReader(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+10)
	tests := []struct {
		name  string
		input string
		want  []string // "!" marks errLineTooLong
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []string{"a", "b"}},
		{"crlf and no final newline", "a\r\nb", []string{"a", "b"}},
		{"blank line kept", "a\n\nb\n", []string{"a", "", "b"}},
		{"too long line skipped", "a\n" + long + "\nb\n", []string{"a", "!", "b"}},
		{"too long last line", "a\n" + long, []string{"a", "!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newPlainReader(strings.NewReader(tc.input))
			var got []string
			for {
				line, err := r.ReadLine()
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, errLineTooLong) {
					line = "!"
				} else if err != nil {
					t.Fatal(err)
				}
				got = append(got, line)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("lines = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{Out: io.Discard}); err == nil || !strings.Contains(err.Error(), "In") {
		t.Fatalf("missing In: %v", err)
	}
	if _, err := New(Options{In: strings.NewReader("")}); err == nil || !strings.Contains(err.Error(), "Out") {
		t.Fatalf("missing Out: %v", err)
	}
	if _, err := New(Options{In: strings.NewReader(""), Out: io.Discard, HistoryLen: -1}); err == nil {
		t.Fatal("negative HistoryLen accepted")
	}
	r := newTestREPL(t, Options{In: strings.NewReader(""), Out: io.Discard})
	if r.Name() != "repl" || r.Capabilities().Format != "plain" {
		t.Fatalf("name %q caps %+v", r.Name(), r.Capabilities())
	}
}

func TestRunCancelledByContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := newTestREPL(t, Options{In: pr, Out: io.Discard})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, newFakeSink(nil)) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil on cancellation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

func TestPipedInputWaitsForEachAnswer(t *testing.T) {
	out := &syncBuffer{}
	r := newTestREPL(t, Options{In: strings.NewReader("q1\n/new\nq2\n"), Out: out})
	var answered sync.Map
	sink := newFakeSink(nil)
	sink.answer = func(in engine.Inbound) {
		answered.Store(in.Text, true)
		streamAnswer(t, r, "a:", in.Text)(in)
	}
	sink.status = func(in engine.Inbound) engine.ReceiptStatus {
		if in.Text == "/new" {
			if _, ok := answered.Load("q1"); !ok {
				t.Error("/new was sent before q1 was answered")
			}
			return engine.Handled // the fake sink answers with a notice
		}
		return engine.Queued
	}
	runREPL(t, r, sink)
	if got, want := out.String(), "a:q1\n[notice] handled /new\na:q2\n"; got != want {
		t.Fatalf("output = %q, want %q", got, want)
	}
}
