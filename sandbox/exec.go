package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/tetratelabs/wazero/api"
)

// execution is the host-side state of one call of a tool (or of the
// load-time initialisation). Host functions find it in their context.
// A wasm instance runs on one goroutine, so it needs no lock.
type execution struct {
	mod     *Module
	inv     engine.ToolInvocation
	lim     Limits
	det     *leak.Detector
	log     *slog.Logger
	loading bool
	depth   int

	pending []byte // reply waiting for result_take

	logBytes  int
	lines     [3][]byte // partial stdout and stderr lines, by fd
	crash     string    // the first "panic:" or "fatal error:" line on stderr
	httpCount int
	toolCount int
	httpBytes int64
	requests  []httpgate.Record
	denied    map[string]int
	invoked   []string

	// kill is why the host stopped the guest (log flood, ABI violation).
	kill     string
	exited   bool
	exitCode int
}

type execKey struct{}

func withExecution(ctx context.Context, ex *execution) context.Context {
	return context.WithValue(ctx, execKey{}, ex)
}

func executionFrom(ctx context.Context) *execution {
	ex, _ := ctx.Value(execKey{}).(*execution)
	return ex
}

type depthKey struct{}

// depthFrom is how deep in tool-invoke chains a call is.
func depthFrom(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

// abortError is the panic value a host function uses to stop the guest.
type abortError struct{ reason string }

// Error returns why the guest was stopped.
func (e *abortError) Error() string { return e.reason }

// abort records why the guest is stopped and unwinds it.
func (ex *execution) abort(reason string) {
	if ex.kill == "" {
		ex.kill = reason
	}
	panic(&abortError{reason: reason})
}

// noteDenied counts a refused WASI call for the audit log.
func (ex *execution) noteDenied(name string) {
	if ex.denied == nil {
		ex.denied = map[string]int{}
	}
	ex.denied[name]++
}

// output takes a write to stdout or stderr: it counts against the log
// cap, and complete lines are logged (redacted); the first panic or fatal
// error line is kept for the crash message.
func (ex *execution) output(ctx context.Context, fd uint32, buf []byte) {
	ex.charge(len(buf))
	lb := append(ex.lines[fd], buf...)
	for {
		i := bytes.IndexByte(lb, '\n')
		if i < 0 {
			break
		}
		ex.line(ctx, fd, string(lb[:i]))
		lb = lb[i+1:]
	}
	if len(lb) > 4096 {
		ex.line(ctx, fd, string(lb))
		lb = nil
	}
	ex.lines[fd] = append([]byte(nil), lb...)
}

// flush logs partial lines left at the end of a call.
func (ex *execution) flush(ctx context.Context) {
	for fd := fdStdout; fd <= fdStderr; fd++ {
		if len(ex.lines[fd]) > 0 {
			ex.line(ctx, uint32(fd), string(ex.lines[fd]))
			ex.lines[fd] = nil
		}
	}
}

func (ex *execution) line(ctx context.Context, fd uint32, line string) {
	level := slog.LevelDebug
	if fd == fdStderr {
		level = slog.LevelWarn
		if ex.crash == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") ||
			strings.HasPrefix(line, "runtime: out of memory")) {
			ex.crash = truncate(line, 300)
		}
	}
	ex.emit(ctx, level, line)
}

// charge counts n bytes of log output and stops the guest past the cap.
func (ex *execution) charge(n int) {
	ex.logBytes += n
	if ex.logBytes > ex.lim.MaxLogBytes {
		ex.abort(fmt.Sprintf("it wrote more than its %d-byte log limit", ex.lim.MaxLogBytes))
	}
}

// emit writes one guest log line through the host logger, redacted.
func (ex *execution) emit(ctx context.Context, level slog.Level, msg string) {
	if !ex.log.Enabled(ctx, level) {
		return
	}
	msg = strings.TrimRight(msg, "\n")
	if len(msg) > 4096 {
		msg = msg[:4096] + "…"
	}
	if ex.det != nil {
		msg, _ = ex.det.Redact(msg)
	}
	ex.log.Log(ctx, level, "guest: "+msg)
}

// reply stores a successful host-call answer and returns its length.
func (ex *execution) reply(v any) uint64 {
	b, err := json.Marshal(struct {
		OK any `json:"ok"`
	}{v})
	if err != nil {
		return ex.replyErr("failed", "the host could not encode its answer")
	}
	ex.pending = b
	return uint64(len(b))
}

// replyErr stores a host-call error and returns its length.
func (ex *execution) replyErr(code, msg string) uint64 {
	if ex.det != nil {
		msg, _ = ex.det.Redact(msg)
	}
	b, _ := json.Marshal(struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{Error: struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	ex.pending = b
	return uint64(len(b))
}

// read copies n bytes at ptr out of guest memory. A request larger than
// max is answered with an error by the caller; an out-of-range pointer
// is an ABI violation that stops the guest.
func (ex *execution) read(m api.Module, ptr, n uint32, max int) ([]byte, bool) {
	if int(n) > max {
		return nil, false
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		ex.abort(fmt.Sprintf("it broke the ABI: a host call pointed outside its memory (%d bytes at %#x)", n, ptr))
	}
	return append([]byte(nil), b...), true
}
