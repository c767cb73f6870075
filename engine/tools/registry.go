// Package tools holds the tool registry: the set of tools the agent may
// call, each with its arguments schema compiled once at registration.
// Execute validates a call's arguments against that schema, runs the tool
// under a timeout, recovers panics and caps the output, so that every
// mistake the model can fix comes back to it as a readable error result.
package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Defaults used when Options leaves a field at zero.
const (
	// DefaultTimeout bounds one tool call when neither the tool nor the
	// registry options say otherwise.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxOutput is the largest tool output, in bytes, handed to the
	// model before it is cut with a note.
	DefaultMaxOutput = 64 << 10
	// MaxNameLen is the longest tool name accepted.
	MaxNameLen = 64
)

// Errors returned by the registry; match them with errors.Is.
var (
	// ErrInvalidTool: the tool is nil, its name does not match
	// ^[a-z][a-z0-9_]{0,63}$, or its timeout is negative.
	ErrInvalidTool = errors.New("invalid tool")
	// ErrInvalidSchema: the tool's Parameters is not a valid JSON Schema of
	// an arguments object.
	ErrInvalidSchema = errors.New("invalid parameters schema")
	// ErrDuplicate: a tool of that name is registered already.
	ErrDuplicate = errors.New("tool already registered")
	// ErrSourceMismatch: Replace would swap a tool for one from another
	// source (a WASM module taking the place of a built-in).
	ErrSourceMismatch = errors.New("tool source mismatch")
)

// emptyParameters is the schema given to a tool that declares none.
const emptyParameters = `{"type":"object","properties":{}}`

// Options configure a Registry. Zero values take the defaults.
type Options struct {
	// DefaultTimeout bounds a call of a tool whose ToolInfo.Timeout is zero
	// (zero or negative: DefaultTimeout).
	DefaultTimeout time.Duration
	// MaxOutput caps the bytes of a result's Content (zero or negative:
	// DefaultMaxOutput).
	MaxOutput int
	// Logger receives panics, timeouts and tool failures (nil: discard).
	Logger *slog.Logger
}

// Registry is a concurrency-safe set of tools. The zero value is not
// usable; call New.
type Registry struct {
	timeout   time.Duration
	maxOutput int
	log       *slog.Logger
	printer   *message.Printer

	mu    sync.RWMutex
	tools map[string]*entry
	// sorted holds the entries ordered by name; rebuilt on every change
	// and never mutated in place, so readers may keep a reference.
	sorted []*entry
}

// entry is a registered tool with the snapshot of its info taken at
// registration and its compiled arguments schema.
type entry struct {
	tool   engine.Tool
	info   engine.ToolInfo
	schema *jsonschema.Schema
}

// New returns an empty registry.
func New(opts Options) *Registry {
	r := &Registry{
		timeout:   opts.DefaultTimeout,
		maxOutput: opts.MaxOutput,
		log:       opts.Logger,
		printer:   message.NewPrinter(language.English),
		tools:     map[string]*entry{},
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.maxOutput <= 0 {
		r.maxOutput = DefaultMaxOutput
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Register adds a tool. It fails with ErrInvalidTool for a nil tool, a bad
// name or a negative timeout, ErrInvalidSchema when Parameters is not a
// JSON Schema of an object, and ErrDuplicate when the name is taken. A tool
// without Parameters gets the schema of an empty object. Info is read once,
// here: later changes to what the tool's Info returns are not seen.
func (r *Registry) Register(t engine.Tool) error {
	e, err := newEntry(t)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[e.info.Name]; ok {
		return fmt.Errorf("tools: register %q: %w", e.info.Name, ErrDuplicate)
	}
	r.put(e)
	return nil
}

// Replace registers a tool or swaps the one of the same name for it (hot
// reload of a WASM tool). The new tool is checked as by Register; a tool
// may only replace one with the same Source, otherwise ErrSourceMismatch.
// Calls already running finish on the old tool.
func (r *Registry) Replace(t engine.Tool) error {
	e, err := newEntry(t)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.tools[e.info.Name]; ok && old.info.Source != e.info.Source {
		return fmt.Errorf("tools: replace %q: registered from source %q, new one from %q: %w",
			e.info.Name, old.info.Source, e.info.Source, ErrSourceMismatch)
	}
	r.put(e)
	return nil
}

// Unregister removes a tool and reports whether it was registered.
func (r *Registry) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[name]; !ok {
		return false
	}
	delete(r.tools, name)
	r.rebuild()
	return true
}

// Get returns the tool registered under name.
func (r *Registry) Get(name string) (engine.Tool, bool) {
	e := r.lookup(name)
	if e == nil {
		return nil, false
	}
	return e.tool, true
}

// Info returns the registered info of a tool (with the schema the
// registry validates against), for policy decisions such as approval and
// parallelism.
func (r *Registry) Info(name string) (engine.ToolInfo, bool) {
	e := r.lookup(name)
	if e == nil {
		return engine.ToolInfo{}, false
	}
	return e.info, true
}

// List returns the infos of all tools, sorted by name.
func (r *Registry) List() []engine.ToolInfo {
	sorted := r.snapshot()
	out := make([]engine.ToolInfo, len(sorted))
	for i, e := range sorted {
		out[i] = e.info
	}
	return out
}

// Names returns the names of all tools, sorted.
func (r *Registry) Names() []string {
	sorted := r.snapshot()
	out := make([]string, len(sorted))
	for i, e := range sorted {
		out[i] = e.info.Name
	}
	return out
}

// Specs returns what the model is told about every tool, sorted by name.
func (r *Registry) Specs() []engine.ToolSpec {
	sorted := r.snapshot()
	out := make([]engine.ToolSpec, len(sorted))
	for i, e := range sorted {
		out[i] = e.info.Spec()
	}
	return out
}

// Len reports how many tools are registered.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.tools)
}

func (r *Registry) lookup(name string) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tools[name]
}

func (r *Registry) snapshot() []*entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sorted
}

// put stores e; the caller holds r.mu.
func (r *Registry) put(e *entry) {
	r.tools[e.info.Name] = e
	r.rebuild()
}

// rebuild recomputes the sorted view; the caller holds r.mu.
func (r *Registry) rebuild() {
	sorted := make([]*entry, 0, len(r.tools))
	for _, e := range r.tools {
		sorted = append(sorted, e)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].info.Name < sorted[j].info.Name })
	r.sorted = sorted
}

// newEntry checks a tool and compiles its schema.
func newEntry(t engine.Tool) (*entry, error) {
	if t == nil {
		return nil, fmt.Errorf("tools: register: nil tool: %w", ErrInvalidTool)
	}
	info := t.Info()
	if err := checkName(info.Name); err != nil {
		return nil, fmt.Errorf("tools: register: %w: %w", err, ErrInvalidTool)
	}
	if info.Timeout < 0 {
		return nil, fmt.Errorf("tools: register %q: negative timeout %s: %w", info.Name, info.Timeout, ErrInvalidTool)
	}
	if len(info.Parameters) == 0 {
		info.Parameters = json.RawMessage(emptyParameters)
	} else {
		info.Parameters = slices.Clone(info.Parameters)
	}
	sch, err := compileSchema(info.Name, info.Parameters)
	if err != nil {
		return nil, fmt.Errorf("tools: register %q: %w: %w", info.Name, ErrInvalidSchema, err)
	}
	return &entry{tool: t, info: info, schema: sch}, nil
}

// checkName enforces ^[a-z][a-z0-9_]{0,63}$.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty tool name")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("tool name %.20q... is %d bytes long, at most %d allowed", name, len(name), MaxNameLen)
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("tool name %q must start with a lowercase letter a-z", name)
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Errorf("tool name %q may contain only a-z, 0-9 and _ (found %q at byte %d)", name, c, i)
		}
	}
	return nil
}
