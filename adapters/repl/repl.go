// Package repl is Hearth's local admin console: a channel that reads lines
// from a terminal (or a pipe), hands them to the engine as the owner's
// messages, prints streamed replies, and answers admin slash commands
// (/status, /pair, /users, /audit, ...) locally through an Admin.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/hearthbot/hearth/engine"
)

// Fixed addressing of the console: one conversation, written by the owner.
const (
	ChannelName  = "repl"
	Conversation = "console"
	OwnerID      = "owner"
)

// DefaultPrompt is the interactive prompt.
const DefaultPrompt = "hearth> "

// Options configure a console.
type Options struct {
	// In is read line by line (required).
	In io.Reader
	// Out receives replies and command output (required).
	Out io.Writer
	// Err receives notices, errors and status lines when not interactive,
	// so a piped answer stays clean; nil means Out.
	Err io.Writer
	// Interactive turns on line editing and history (golang.org/x/term).
	// Set it when In is a terminal; In is put in raw mode when it has a
	// file descriptor that is a terminal.
	Interactive bool
	// HistoryFile persists interactive history (mode 0600); "" keeps it
	// in memory.
	HistoryFile string
	// HistoryLen bounds the history; zero means DefaultHistoryLen.
	HistoryLen int
	// Admin answers local slash commands; nil answers "not available".
	Admin Admin
	// Logger; nil discards.
	Logger *slog.Logger
	// Prompt is the interactive prompt; "" means DefaultPrompt.
	Prompt string
	// DrainTimeout bounds the wait for pending answers after input ends;
	// zero waits until the context ends.
	DrainTimeout time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// REPL is the console channel. Create it with New.
type REPL struct {
	opts    Options
	log     *slog.Logger
	admin   Admin
	now     func() time.Time
	out     *printer
	pending *tracker
	running atomic.Bool
	sent    atomic.Int64

	healthMu sync.Mutex
	health   engine.ChannelHealth
}

// Compile-time checks of the abilities the console offers.
var (
	_ engine.Channel        = (*REPL)(nil)
	_ engine.Streamer       = (*REPL)(nil)
	_ engine.HealthReporter = (*REPL)(nil)
)

// New checks the options and builds a console.
func New(opts Options) (*REPL, error) {
	if opts.In == nil {
		return nil, errors.New("repl: Options.In is required")
	}
	if opts.Out == nil {
		return nil, errors.New("repl: Options.Out is required")
	}
	if opts.HistoryLen < 0 {
		return nil, fmt.Errorf("repl: Options.HistoryLen must not be negative, got %d", opts.HistoryLen)
	}
	if opts.HistoryLen == 0 {
		opts.HistoryLen = DefaultHistoryLen
	}
	if opts.Prompt == "" {
		opts.Prompt = DefaultPrompt
	}
	if opts.Err == nil {
		opts.Err = opts.Out
	}
	r := &REPL{opts: opts, log: opts.Logger, admin: opts.Admin, now: opts.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.admin == nil {
		r.admin = UnavailableAdmin{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.out = newPrinter(opts.Out, opts.Err, opts.Prompt)
	r.pending = newTracker(func(open int) { r.out.setBusy(open > 0) })
	r.health.State = "stopped"
	return r, nil
}

// Name implements engine.Channel.
func (r *REPL) Name() string { return ChannelName }

// Capabilities implements engine.Channel: plain text, no limit, streamed.
func (r *REPL) Capabilities() engine.Capabilities {
	return engine.Capabilities{Format: "plain"}
}

// Health implements engine.HealthReporter.
func (r *REPL) Health() engine.ChannelHealth {
	r.healthMu.Lock()
	defer r.healthMu.Unlock()
	return r.health
}

func (r *REPL) setHealth(f func(h *engine.ChannelHealth)) {
	r.healthMu.Lock()
	defer r.healthMu.Unlock()
	f(&r.health)
}

// inputEvent is one line read, or the end of input.
type inputEvent struct {
	line string
	err  error
}

// Run reads input and hands each line to sink until input ends or ctx is
// cancelled. Interactive input is sent as typed (a line typed while an
// answer streams is queued by the engine, and /stop or Ctrl-C interrupts);
// piped input is sent one line at a time, each after the answer to the
// previous one. At end of input (Ctrl-D, a closed pipe, /quit) it waits until
// every accepted message has been answered (bounded by DrainTimeout), then
// returns nil: the composition root treats the console's return as the
// owner leaving. A blocked read of a terminal cannot be interrupted, so on
// cancellation the reading goroutine ends only with the process.
func (r *REPL) Run(ctx context.Context, sink engine.Sink) error {
	if sink == nil {
		return errors.New("repl: Run needs a sink")
	}
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("repl: already running")
	}
	defer r.running.Store(false)
	r.setHealth(func(h *engine.ChannelHealth) { h.State = "connected"; h.LastError = "" })
	defer r.setHealth(func(h *engine.ChannelHealth) { h.State = "stopped" })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan inputEvent)
	reader, cleanup, err := r.input(ctx, events)
	if err != nil {
		r.setHealth(func(h *engine.ChannelHealth) { h.State = "failed"; h.LastError = err.Error() })
		return err
	}
	defer cleanup()
	go r.readLoop(ctx, reader, events)

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			switch {
			case errors.Is(ev.err, io.EOF) || errors.Is(ev.err, errQuit):
				return r.drain(ctx)
			case errors.Is(ev.err, errLineTooLong):
				r.diag("[error] " + ev.err.Error() + "; line ignored")
			case ev.err != nil:
				r.log.Error("repl: read input", "err", ev.err)
				r.setHealth(func(h *engine.ChannelHealth) { h.LastError = ev.err.Error() })
				return fmt.Errorf("repl: read input: %w", ev.err)
			default:
				if err := r.handleLine(ctx, sink, ev.line); err != nil {
					if errors.Is(err, errQuit) {
						return r.drain(ctx)
					}
					if ctx.Err() != nil {
						return nil
					}
				}
				if !r.opts.Interactive {
					// Piped input is a script: each line waits for the
					// answer to the one before, so "/new" or a follow-up
					// question acts after that answer, as typed.
					if err := r.pending.wait(ctx); err != nil {
						return nil
					}
				}
			}
		}
	}
}

// input prepares the line reader: a raw-mode x/term terminal when
// interactive, plain line reading otherwise. cleanup restores the terminal.
func (r *REPL) input(ctx context.Context, events chan<- inputEvent) (lineReader, func(), error) {
	if !r.opts.Interactive {
		return newPlainReader(r.opts.In), func() {}, nil
	}
	restore := func() {}
	width := 0
	if f, ok := r.opts.In.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		state, err := term.MakeRaw(fd)
		if err != nil {
			return nil, nil, fmt.Errorf("repl: terminal raw mode: %w", err)
		}
		restore = func() { _ = term.Restore(fd, state) }
		if w, _, err := term.GetSize(fd); err == nil {
			width = w
		}
	}
	hist, err := loadHistory(r.opts.HistoryFile, r.opts.HistoryLen, r.log)
	if err != nil {
		restore()
		return nil, nil, err
	}
	filter := &interruptFilter{
		r:    r.opts.In,
		busy: func() bool { return r.pending.open() > 0 },
		interrupt: func() {
			select {
			case events <- inputEvent{line: "/stop"}:
			case <-ctx.Done():
			}
		},
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{filter, r.opts.Out}, r.opts.Prompt)
	t.History = hist
	if width > 0 {
		_ = t.SetSize(width, 0)
	}
	r.out.attach(t)
	return t, func() {
		r.out.attach(nil)
		restore()
	}, nil
}

func (r *REPL) readLoop(ctx context.Context, in lineReader, events chan<- inputEvent) {
	for {
		line, err := in.ReadLine()
		if errors.Is(err, term.ErrPasteIndicator) {
			err = nil
		}
		select {
		case events <- inputEvent{line: line, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return
		}
	}
}

// drain waits for the answers to accepted messages after input ended.
func (r *REPL) drain(ctx context.Context) error {
	if r.opts.DrainTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.DrainTimeout)
		defer cancel()
	}
	if err := r.pending.wait(ctx); err != nil && errors.Is(err, context.DeadlineExceeded) {
		r.diag(fmt.Sprintf("[notice] %d message(s) still unanswered; they stay queued", r.pending.open()))
	}
	return nil
}

// handleLine runs a local command or hands the line to the engine.
func (r *REPL) handleLine(ctx context.Context, sink engine.Sink, line string) error {
	line = strings.TrimSpace(strings.ToValidUTF8(line, "\uFFFD"))
	if line == "" {
		return nil
	}
	if strings.HasPrefix(line, "/") {
		handled, err := r.command(ctx, line)
		if handled || err != nil {
			return err
		}
	}
	return r.submit(ctx, sink, line)
}

// submit hands one line to the engine as the owner's message.
func (r *REPL) submit(ctx context.Context, sink engine.Sink, text string) error {
	in := engine.Inbound{
		Channel:      ChannelName,
		MessageID:    engine.NewID(),
		Conversation: Conversation,
		Sender:       engine.Sender{ID: OwnerID, DisplayName: OwnerID},
		Direct:       true,
		Text:         text,
		ReceivedAt:   r.now(),
	}
	// Track before Accept: the answer can arrive before Accept returns.
	r.pending.add(in.MessageID)
	receipt, err := sink.Accept(ctx, in)
	if err != nil {
		r.pending.drop(in.MessageID)
		r.diag("[error] message not accepted: " + err.Error())
		r.setHealth(func(h *engine.ChannelHealth) { h.LastError = err.Error() })
		return err
	}
	r.setHealth(func(h *engine.ChannelHealth) { h.LastInbound = r.now() })
	r.pending.receipt(in.MessageID, receipt)
	switch receipt.Status {
	case engine.Denied:
		r.diag("[error] the engine refused the message")
	case engine.Duplicate:
		r.diag("[notice] duplicate message ignored")
	}
	return nil
}

// Send implements engine.Channel: replies are printed (completing a
// streamed reply without repeating it), notices and errors marked, status
// lines shown only on an interactive console, typing ignored.
func (r *REPL) Send(ctx context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	if err := ctx.Err(); err != nil {
		return engine.SentMessage{}, err
	}
	var err error
	switch msg.Kind {
	case engine.KindReply:
		prefix := ""
		if msg.Error {
			prefix = "[error] "
		}
		// Print before settling the tracker, so a drained Run never
		// returns ahead of the answer it waited for.
		err = r.out.reply(streamKey(msg.To), msg.Text, prefix)
		r.pending.observe(msg)
	case engine.KindNotice:
		prefix := "[notice] "
		if msg.Error {
			prefix = "[error] "
		}
		err = r.out.block(prefix+msg.Text, true)
		r.pending.observe(msg)
	case engine.KindDelta:
		return engine.SentMessage{}, r.Stream(ctx, msg)
	case engine.KindStatus:
		if r.opts.Interactive && msg.Text != "" {
			err = r.out.block("  · "+msg.Text, true)
		}
	case engine.KindTyping:
		return engine.SentMessage{}, nil
	default:
		return engine.SentMessage{}, fmt.Errorf("repl: unknown outbound kind %d", msg.Kind)
	}
	if err != nil {
		return engine.SentMessage{}, fmt.Errorf("repl: write: %w", err)
	}
	r.setHealth(func(h *engine.ChannelHealth) { h.LastOutbound = r.now() })
	id := msg.ID
	if id == 0 {
		id = r.sent.Add(1)
	}
	return engine.SentMessage{ID: strconv.FormatInt(id, 10)}, nil
}

// Stream implements engine.Streamer: streamed text is printed as it
// arrives; the final KindReply then adds only what is missing.
func (r *REPL) Stream(ctx context.Context, msg engine.Outbound) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if msg.Kind != engine.KindDelta {
		_, err := r.Send(ctx, msg)
		return err
	}
	if err := r.out.delta(streamKey(msg.To), msg.Text, msg.Delta); err != nil {
		return fmt.Errorf("repl: write: %w", err)
	}
	return nil
}

// streamKey identifies one streamed reply: the message it answers, or the
// conversation for replies to no message (heartbeats).
func streamKey(to engine.Address) string {
	if to.ReplyTo != "" {
		return "r:" + to.ReplyTo
	}
	return "c:" + to.Key()
}

// diag prints a console diagnostic (errors, notices of the console itself).
func (r *REPL) diag(text string) {
	if err := r.out.block(text, true); err != nil {
		r.log.Warn("repl: write", "err", err)
	}
}

// say prints command output.
func (r *REPL) say(text string) {
	if err := r.out.block(text, false); err != nil {
		r.log.Warn("repl: write", "err", err)
	}
}
