package sandbox

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox/caps"
)

// Registrar is where the loader puts tools (engine/tools.Registry
// satisfies it).
type Registrar interface {
	Register(t engine.Tool) error
	Replace(t engine.Tool) error
	Unregister(name string) bool
}

// EventKind says what a scan did with a tool.
type EventKind string

// Event kinds.
const (
	Loaded   EventKind = "loaded"
	Replaced EventKind = "replaced"
	Removed  EventKind = "removed"
	Refused  EventKind = "refused"
)

// Event is one change a scan made (or refused to make).
type Event struct {
	Tool string
	Kind EventKind
	// Err says why a module was refused; the previous version, if any,
	// keeps serving.
	Err error
}

// ToolStatus describes a tool of the directory, for `hearth tools ls`
// and `hearth doctor`.
type ToolStatus struct {
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	SHA256       string    `json:"sha256,omitempty"`
	Capabilities []string  `json:"capabilities,omitempty"`
	LoadedAt     time.Time `json:"loaded_at,omitzero"`
	// Error is why the current files were refused ("" when serving
	// them); Serving reports whether some version is registered.
	Error   string `json:"error,omitempty"`
	Serving bool   `json:"serving"`
}

// LoaderOptions configure a Loader.
type LoaderOptions struct {
	Logger *slog.Logger
	// DrainTimeout bounds how long a replaced or removed version may
	// finish its running calls (default 30s).
	DrainTimeout time.Duration
}

// Loader keeps a registry in step with a tools directory: NAME.wasm with
// NAME.capabilities.json beside it is loaded and registered; a changed
// pair replaces the running version only if the new one loads; removing
// the module (or its capabilities file) unregisters the tool. A module
// that is refused is reported and not retried until its files change.
type Loader struct {
	rt    *Runtime
	dir   string
	reg   Registrar
	log   *slog.Logger
	drain time.Duration

	mu      sync.Mutex
	current map[string]*loadedTool
	refused map[string]refusal
	stats   map[string]fileStamp // last seen stat of NAME.wasm + caps
}

type loadedTool struct {
	mod      *Module
	print    [32]byte
	loadedAt time.Time
}

type refusal struct {
	print [32]byte
	err   error
}

// fileStamp identifies the content of a module and its capabilities
// file: sizes and times decide whether to hash again.
type fileStamp struct {
	wasmSize, capsSize   int64
	wasmMtime, capsMtime time.Time
	print                [32]byte
}

// NewLoader returns a loader of dir into reg.
func NewLoader(rt *Runtime, dir string, reg Registrar, opts LoaderOptions) *Loader {
	l := &Loader{rt: rt, dir: dir, reg: reg, log: opts.Logger, drain: opts.DrainTimeout,
		current: map[string]*loadedTool{}, refused: map[string]refusal{}, stats: map[string]fileStamp{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.drain <= 0 {
		l.drain = 30 * time.Second
	}
	return l
}

// Watch scans now and on every tick until ctx ends. Production passes a
// time.Ticker's channel; tests pass their own.
func (l *Loader) Watch(ctx context.Context, ticks <-chan time.Time) error {
	if _, err := l.Scan(ctx); err != nil {
		l.log.Error("tools directory", "dir", l.dir, "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
			if _, err := l.Scan(ctx); err != nil {
				l.log.Error("tools directory", "dir", l.dir, "err", err)
			}
		}
	}
}

// checkDir refuses a tools directory others may write to: whoever can
// write there can install tools.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("sandbox: tools directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("sandbox: tools directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("sandbox: tools directory %s is writable by group or others (mode %v); run chmod go-w %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// Scan brings the registry in line with the directory once and returns
// what changed. The error is about the directory itself.
func (l *Loader) Scan(ctx context.Context) ([]Event, error) {
	if err := checkDir(l.dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	present := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		present[strings.TrimSuffix(e.Name(), ".wasm")] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var events []Event
	for _, name := range sortedNames(present) {
		if ev, changed := l.scanOne(ctx, name); changed {
			events = append(events, ev)
		}
	}
	for _, name := range sortedNames(l.current) {
		if !present[name] {
			events = append(events, l.remove(name, "its module file was removed"))
		}
	}
	for name := range l.refused {
		if !present[name] {
			delete(l.refused, name)
			delete(l.stats, name)
		}
	}
	return events, nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// scanOne loads, replaces or refuses one tool; changed is false when
// nothing happened.
func (l *Loader) scanOne(ctx context.Context, name string) (Event, bool) {
	wasmPath := filepath.Join(l.dir, name+".wasm")
	refuse := func(err error) (Event, bool) {
		if cur, ok := l.current[name]; ok {
			l.log.Error("tool update refused; the previous version keeps serving", "tool", name, "sha256", cur.mod.hash[:12], "err", err)
		} else {
			l.log.Error("tool refused", "tool", name, "err", err)
		}
		return Event{Tool: name, Kind: Refused, Err: err}, true
	}
	if err := caps.ValidateToolName(name); err != nil {
		if _, seen := l.refused[name]; seen {
			return Event{}, false
		}
		l.refused[name] = refusal{err: err}
		return refuse(fmt.Errorf("%s: the file name is the tool name: %w", wasmPath, err))
	}
	stamp, err := l.stamp(name)
	if errors.Is(err, fs.ErrNotExist) {
		if _, ok := l.current[name]; ok {
			return l.remove(name, "its capabilities file was removed"), true
		}
		if r, seen := l.refused[name]; seen && r.print == ([32]byte{}) {
			return Event{}, false
		}
		err = fmt.Errorf("%s is missing; every tool needs a capabilities file beside it (an empty one grants nothing)", CapabilitiesPath(wasmPath))
		l.refused[name] = refusal{err: err}
		return refuse(err)
	}
	if err != nil {
		return refuse(err)
	}
	if cur, ok := l.current[name]; ok && cur.print == stamp.print {
		delete(l.refused, name)
		return Event{}, false
	}
	if r, seen := l.refused[name]; seen && r.print == stamp.print {
		return Event{}, false
	}
	m, err := l.rt.LoadFile(ctx, wasmPath)
	if err != nil {
		l.refused[name] = refusal{print: stamp.print, err: err}
		return refuse(err)
	}
	old, replacing := l.current[name]
	if replacing {
		err = l.reg.Replace(m)
	} else {
		err = l.reg.Register(m)
	}
	if err != nil {
		_ = m.Close(ctx)
		err = fmt.Errorf("the registry refused %s: %w", name, err)
		l.refused[name] = refusal{print: stamp.print, err: err}
		return refuse(err)
	}
	delete(l.refused, name)
	l.current[name] = &loadedTool{mod: m, print: stamp.print, loadedAt: l.rt.now()}
	if replacing {
		l.retire(old.mod)
		l.log.Info("tool replaced", "tool", name, "sha256", m.hash[:12], "previous", old.mod.hash[:12])
		return Event{Tool: name, Kind: Replaced}, true
	}
	l.log.Info("tool registered", "tool", name, "sha256", m.hash[:12])
	return Event{Tool: name, Kind: Loaded}, true
}

// stamp returns the current files' fingerprint, hashing only when their
// size or time changed since the last scan.
func (l *Loader) stamp(name string) (fileStamp, error) {
	wasmPath := filepath.Join(l.dir, name+".wasm")
	capsPath := CapabilitiesPath(wasmPath)
	wi, err := os.Stat(wasmPath)
	if err != nil {
		return fileStamp{}, err
	}
	ci, err := os.Stat(capsPath)
	if err != nil {
		return fileStamp{}, err
	}
	s := fileStamp{wasmSize: wi.Size(), capsSize: ci.Size(), wasmMtime: wi.ModTime(), capsMtime: ci.ModTime()}
	if old, ok := l.stats[name]; ok && old.wasmSize == s.wasmSize && old.capsSize == s.capsSize &&
		old.wasmMtime.Equal(s.wasmMtime) && old.capsMtime.Equal(s.capsMtime) {
		return old, nil
	}
	h := sha256.New()
	for _, p := range []string{wasmPath, capsPath} {
		data, err := os.ReadFile(p)
		if err != nil {
			return fileStamp{}, err
		}
		fmt.Fprintf(h, "%d:", len(data))
		h.Write(data)
	}
	copy(s.print[:], h.Sum(nil))
	l.stats[name] = s
	return s, nil
}

// remove unregisters a tool and retires its module.
func (l *Loader) remove(name, why string) Event {
	cur := l.current[name]
	delete(l.current, name)
	delete(l.stats, name)
	l.reg.Unregister(name)
	l.retire(cur.mod)
	l.log.Info("tool unregistered", "tool", name, "why", why)
	return Event{Tool: name, Kind: Removed}
}

// retire refuses new calls to a module at once and frees it when its
// running calls finish (bounded).
func (l *Loader) retire(m *Module) {
	m.stop()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), l.drain)
		defer cancel()
		_ = m.Close(ctx)
	}()
}

// Tool returns the serving module of a tool.
func (l *Loader) Tool(name string) (*Module, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.current[name]
	if !ok {
		return nil, false
	}
	return cur.mod, true
}

// Status describes every tool the directory holds or held.
func (l *Loader) Status() []ToolStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := map[string]bool{}
	for n := range l.current {
		names[n] = true
	}
	for n := range l.refused {
		names[n] = true
	}
	var out []ToolStatus
	for _, n := range sortedNames(names) {
		st := ToolStatus{Name: n}
		if cur, ok := l.current[n]; ok {
			c := cur.mod.Capabilities()
			st.Description, st.SHA256, st.Capabilities = cur.mod.info.Description, cur.mod.hash, c.Describe()
			st.LoadedAt, st.Serving = cur.loadedAt, true
		}
		if r, ok := l.refused[n]; ok {
			st.Error = r.err.Error()
		}
		out = append(out, st)
	}
	return out
}

// Close unregisters every tool and frees the modules, waiting for
// running calls until ctx ends.
func (l *Loader) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, name := range sortedNames(l.current) {
		cur := l.current[name]
		l.reg.Unregister(name)
		errs = append(errs, cur.mod.Close(ctx))
		delete(l.current, name)
	}
	return errors.Join(errs...)
}
