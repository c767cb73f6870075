package repl

import (
	"io"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/term"
)

// streamCursor ends the unfinished streamed line shown in the prompt, so
// the prompt is never empty while text streams (see printer).
const streamCursor = "▍"

// busyPrompt is shown while the console waits for an answer.
const busyPrompt = "… "

// printer owns the console output. Engine goroutines (Send, Stream) and the
// input loop (command output) write through it.
//
// On a plain writer streamed text is written as it arrives and the final
// reply adds only what was not printed yet. On an interactive terminal the
// line being typed must survive asynchronous output, which x/term achieves
// by erasing and redrawing its prompt around every Write; so complete
// streamed lines are written above the prompt and the unfinished line is
// shown as the prompt itself (with a cursor mark) until it is complete.
type printer struct {
	mu     sync.Mutex
	out    io.Writer      // replies and command output
	errOut io.Writer      // notices, errors and status lines when not interactive
	term   *term.Terminal // set while an interactive Run is active
	prompt string         // the idle prompt
	busy   bool           // messages wait for an answer
	// streams holds, per stream key, the text already shown of a reply
	// that is being streamed.
	streams map[string]string
	// partial is the interactive terminal's unfinished streamed line.
	partial string
	// midLine: on a plain writer the last byte written was not a newline.
	midLine bool
}

func newPrinter(out, errOut io.Writer, prompt string) *printer {
	return &printer{out: out, errOut: errOut, prompt: prompt, streams: make(map[string]string)}
}

// attach routes output through an interactive terminal (nil detaches).
func (p *printer) attach(t *term.Terminal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.term = t
	p.partial = ""
	p.midLine = false
	if t != nil {
		t.SetPrompt(p.promptLocked())
	}
}

// setBusy switches the prompt between idle and waiting.
func (p *printer) setBusy(busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy == busy {
		return
	}
	p.busy = busy
	p.redrawLocked()
}

func (p *printer) promptLocked() string {
	switch {
	case p.partial != "":
		return p.partial + streamCursor
	case p.busy:
		return busyPrompt
	default:
		return p.prompt
	}
}

// redrawLocked shows the current prompt. An empty Write makes x/term erase
// and redraw its prompt line when one is on screen, and does nothing when
// the terminal is between lines (it draws the prompt at the next ReadLine).
func (p *printer) redrawLocked() {
	if p.term == nil {
		return
	}
	p.term.SetPrompt(p.promptLocked())
	_, _ = p.term.Write(nil)
}

// block prints text as whole lines of its own, to the main output or,
// when diag is set and the console is not interactive, to the diagnostic
// output.
func (p *printer) block(text string, diag bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blockLocked(text, diag)
}

func (p *printer) blockLocked(text string, diag bool) error {
	text = clean(text)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if p.term != nil {
		_, err := p.term.Write([]byte(text))
		return err
	}
	w := p.out
	if diag {
		w = p.errOut
	}
	if p.midLine && w == p.out {
		text = "\n" + text
		p.midLine = false
	}
	_, err := io.WriteString(w, text)
	return err
}

// delta shows streamed text for the reply identified by key. full is
// everything streamed so far (may be empty), piece the newest part.
func (p *printer) delta(key, full, piece string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	shown, streaming := p.streams[key]
	var add string
	switch {
	case full == "":
		add = piece
		shown += piece
	case strings.HasPrefix(full, shown):
		add = full[len(shown):]
		shown = full
	default:
		// The engine restarted the text (a new step): begin a new line.
		if err := p.endLineLocked(); err != nil {
			return err
		}
		add, shown = full, full
	}
	if !streaming && len(p.streams) > 0 {
		// Another reply is mid-stream: keep the two apart.
		if err := p.endLineLocked(); err != nil {
			return err
		}
	}
	p.streams[key] = shown
	return p.writeStreamLocked(add)
}

// reply prints an answer. When its text continues what was streamed for
// key, only the rest is printed; when it differs (the outbound check
// changed it), the streamed line is ended and the answer printed in full.
func (p *printer) reply(key, text, prefix string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	shown, streaming := p.streams[key]
	delete(p.streams, key)
	if streaming && strings.HasPrefix(text, shown) {
		rest := text[len(shown):]
		if err := p.writeStreamLocked(rest); err != nil {
			return err
		}
		return p.endLineLocked()
	}
	if streaming {
		if err := p.endLineLocked(); err != nil {
			return err
		}
		prefix = "[revised] " + prefix
	}
	return p.blockLocked(prefix+text, false)
}

// writeStreamLocked adds streamed text to the current line.
func (p *printer) writeStreamLocked(s string) error {
	s = clean(s)
	if s == "" {
		return nil
	}
	if p.term == nil {
		_, err := io.WriteString(p.out, s)
		if err == nil {
			p.midLine = !strings.HasSuffix(s, "\n")
		}
		return err
	}
	p.partial += s
	var done string
	if i := strings.LastIndexByte(p.partial, '\n'); i >= 0 {
		done, p.partial = p.partial[:i+1], p.partial[i+1:]
	}
	p.term.SetPrompt(p.promptLocked())
	_, err := p.term.Write([]byte(done)) // redraws the prompt even when done is empty
	return err
}

// endLineLocked finishes an unfinished streamed line.
func (p *printer) endLineLocked() error {
	if p.term == nil {
		if !p.midLine {
			return nil
		}
		p.midLine = false
		_, err := io.WriteString(p.out, "\n")
		return err
	}
	line := p.partial
	p.partial = ""
	p.term.SetPrompt(p.promptLocked())
	if line == "" {
		_, err := p.term.Write(nil)
		return err
	}
	_, err := p.term.Write([]byte(line + "\n"))
	return err
}

// clean removes control characters other than newline and tab, so text
// from the model or from other users cannot drive the terminal (escape
// sequences that move the cursor, retitle the window or hide output).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
}
