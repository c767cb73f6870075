package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/hearthbot/hearth/sandbox/internal/wasmbin"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// ErrInvalidModule wraps every reason a module is refused at load.
var ErrInvalidModule = errors.New("invalid tool module")

// ErrClosed is returned for calls on a closed module or runtime.
var ErrClosed = errors.New("sandbox: closed")

// Module is a loaded WASM tool. It implements engine.Tool: every
// Execute runs in a fresh instance restored from the snapshot taken right
// after the module initialised.
type Module struct {
	rt       *Runtime
	name     string
	caps     caps.Capabilities
	limits   Limits
	hash     string
	wz       wazero.Runtime
	compiled wazero.CompiledModule
	data     []wasmbin.Run
	hasInit  bool
	// hasPrepare: the module exports hearth_prepare, run once before the
	// snapshot.
	hasPrepare bool
	snap       *snapshot
	image      snapshotImage
	globals    []string // export names of the module's globals
	info       engine.ToolInfo
	gate       *httpgate.Gate
	limiter    *rateLimiter

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	inflight int
	closing  bool
	idle     chan struct{} // closed when closing and no call is running
}

var _ engine.Tool = (*Module)(nil)

// snapshot is an initialised instance's state: its memory size, the
// non-zero parts of memory, and the values of its mutable globals.
type snapshot struct {
	pages   uint32
	chunks  []wasmbin.Run
	globals []uint64
	mutable []bool
	bytes   int
}

// Load compiles and checks a tool module and its capabilities, runs its
// initialiser once and snapshots the result, and reads its description
// and parameter schema. A module that does not satisfy the ABI, exceeds
// its limits while loading or describes itself badly is refused with an
// error wrapping ErrInvalidModule.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte, c caps.Capabilities) (*Module, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if err := caps.ValidateToolName(name); err != nil {
		return nil, fmt.Errorf("%w: tool name: %v", ErrInvalidModule, err)
	}
	limits, err := r.opts.Defaults.withOverrides(c.Limits, r.opts.Maxima)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, name, err)
	}
	prep, err := wasmbin.Prepare(wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, name, err)
	}
	sum := sha256.Sum256(wasm)
	m := &Module{rt: r, name: name, caps: c, limits: limits, hash: hex.EncodeToString(sum[:]),
		data: prep.Data, limiter: newRateLimiter(c.RateLimit, r.opts.Now), idle: make(chan struct{})}
	for i := 0; i < prep.Globals; i++ {
		m.globals = append(m.globals, wasmbin.GlobalName(i))
	}
	m.wz, err = r.wazeroRuntime(ctx, limits.MemoryPages)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = m.wz.Close(context.WithoutCancel(ctx))
		}
	}()
	m.compiled, err = m.wz.CompileModule(ctx, prep.Wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: compile: %v", ErrInvalidModule, name, err)
	}
	if err := m.checkInterface(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, name, err)
	}
	desc, schema, err := m.initialise(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, name, err)
	}
	if r.opts.NoSnapshot {
		m.snap = nil
	}
	m.info = engine.ToolInfo{
		Name:          name,
		Description:   desc,
		Parameters:    schema,
		NeedsApproval: c.NeedsApproval,
		Sensitive:     c.Sensitive || c.InjectsSecrets(),
		Parallel:      true,
		Untrusted:     c.MakesHTTPRequests() || len(c.Tools) > 0,
		Source:        "wasm",
		// The sandbox stops the guest at its own deadline with a clear
		// message; the registry's bound is a little later.
		Timeout: limits.Timeout + 2*time.Second,
	}
	gopts := r.opts.HTTP
	if gopts.Logger == nil {
		gopts.Logger = r.log
	}
	m.gate = httpgate.New(gopts)
	ok = true
	r.log.Info("tool loaded", "tool", name, "sha256", m.hash[:12], "snapshot_bytes", m.snapshotBytes(),
		"memory_mib", limits.MemoryPages*pageSize>>20, "timeout", limits.Timeout)
	return m, nil
}

// checkInterface refuses imports outside the two host namespaces and
// modules that lack the ABI's exports or declare them with other types.
func (m *Module) checkInterface() error {
	for _, f := range m.compiled.ImportedFunctions() {
		mod, field, _ := f.Import()
		var want signature
		var known bool
		switch mod {
		case HostModule:
			want, known = hostImports[field]
		case WASIModule:
			want, known = wasiSignatures[field]
		default:
			return fmt.Errorf("imports %s.%s: only the %q and %q namespaces exist", mod, field, HostModule, WASIModule)
		}
		if !known {
			return fmt.Errorf("imports %s.%s, which the host does not provide", mod, field)
		}
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return fmt.Errorf("imports %s.%s with the wrong type %s (want %s)", mod, field, typeString(f.ParamTypes(), f.ResultTypes()), typeString(want.params, want.results))
		}
	}
	exports := m.compiled.ExportedFunctions()
	for name, want := range guestExports {
		f, ok := exports[name]
		if !ok {
			return fmt.Errorf("does not export %q; build it with the guest SDK (sandbox/guest) and -buildmode=c-shared", name)
		}
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return fmt.Errorf("exports %q with the wrong type %s (want %s)", name, typeString(f.ParamTypes(), f.ResultTypes()), typeString(want.params, want.results))
		}
	}
	for _, name := range []string{ExportInitialize, ExportPrepare} {
		if f, ok := exports[name]; ok {
			if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
				return fmt.Errorf("exports %q with parameters or results", name)
			}
			m.hasInit = m.hasInit || name == ExportInitialize
			m.hasPrepare = m.hasPrepare || name == ExportPrepare
		}
	}
	if _, ok := m.compiled.ExportedMemories()[ExportMemory]; !ok {
		return fmt.Errorf("does not export its memory as %q", ExportMemory)
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func typeString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}

// initialise runs the module's initialiser in a template instance, reads
// its description and schema (which also warms the JSON machinery the SDK
// uses), checks both, and snapshots the instance.
func (m *Module) initialise(ctx context.Context) (string, json.RawMessage, error) {
	ex := &execution{mod: m, lim: m.limits, det: m.rt.leak, log: m.rt.log.With("tool", m.name, "phase", "load"), loading: true}
	ctx, cancel := context.WithTimeout(withExecution(ctx, ex), m.limits.Timeout)
	defer cancel()
	inst, err := m.freshInstance(ctx)
	if err != nil {
		return "", nil, describeRunError(ctx, ex, m, err, "initialising")
	}
	defer inst.Close(context.WithoutCancel(ctx))
	desc, err := m.readString(ctx, inst, ExportDescription, 4096)
	if err != nil {
		return "", nil, describeRunError(ctx, ex, m, err, "describing itself")
	}
	schemaText, err := m.readString(ctx, inst, ExportSchema, 64<<10)
	if err != nil {
		return "", nil, describeRunError(ctx, ex, m, err, "returning its schema")
	}
	desc = strings.TrimSpace(desc)
	if desc == "" {
		return "", nil, fmt.Errorf("its description is empty (did it call guest.Register?)")
	}
	schema, err := checkSchema(schemaText)
	if err != nil {
		return "", nil, err
	}
	if m.hasPrepare && !m.rt.opts.NoSnapshot {
		if _, err := inst.ExportedFunction(ExportPrepare).Call(ctx); err != nil {
			return "", nil, describeRunError(ctx, ex, m, err, "preparing")
		}
	}
	if !m.rt.opts.NoSnapshot {
		m.snap = m.capture(inst)
		m.image = newImage(m.snap)
	}
	return desc, schema, nil
}

// checkSchema requires a JSON Schema of an object that compiles.
func checkSchema(text string) (json.RawMessage, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("its parameter schema is not JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok || obj["type"] != "object" {
		return nil, fmt.Errorf("its parameter schema must be a JSON Schema with \"type\": \"object\"")
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("tool.json", doc); err != nil {
		return nil, fmt.Errorf("its parameter schema is invalid: %v", err)
	}
	if _, err := c.Compile("tool.json"); err != nil {
		return nil, fmt.Errorf("its parameter schema is invalid: %v", err)
	}
	return json.RawMessage(text), nil
}

// readString calls an export that returns a packed (pointer, length) and
// copies the string out.
func (m *Module) readString(ctx context.Context, inst api.Module, export string, max uint32) (string, error) {
	res, err := inst.ExportedFunction(export).Call(ctx)
	if err != nil {
		return "", err
	}
	ptr, n := unpack(res[0])
	if n > max {
		return "", fmt.Errorf("%s returned %d bytes (limit %d)", export, n, max)
	}
	b, ok := inst.Memory().Read(ptr, n)
	if !ok {
		return "", fmt.Errorf("%s returned a range outside its memory", export)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%s returned invalid UTF-8", export)
	}
	return string(b), nil
}

const chunkSize = 4096

// capture records the template instance's state. Zero pages are skipped:
// a fresh instance's memory is zero already.
func (m *Module) capture(inst api.Module) *snapshot {
	mem := inst.Memory()
	size := mem.Size()
	all, _ := mem.Read(0, size)
	s := &snapshot{pages: size / pageSize}
	for off := 0; off < len(all); off += chunkSize {
		end := min(off+chunkSize, len(all))
		if allZero(all[off:end]) {
			continue
		}
		if n := len(s.chunks); n > 0 && int(s.chunks[n-1].Offset)+len(s.chunks[n-1].Data) == off {
			s.chunks[n-1].Data = append(s.chunks[n-1].Data, all[off:end]...)
		} else {
			s.chunks = append(s.chunks, wasmbin.Run{Offset: uint32(off), Data: append([]byte(nil), all[off:end]...)})
		}
		s.bytes += end - off
	}
	for _, name := range m.globals {
		g := inst.ExportedGlobal(name)
		_, mutable := g.(api.MutableGlobal)
		s.globals = append(s.globals, g.Get())
		s.mutable = append(s.mutable, mutable)
	}
	return s
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (m *Module) snapshotBytes() int {
	if m.snap == nil {
		return 0
	}
	return m.snap.bytes
}

// instanceConfig: no name (so instances can coexist), no start function
// (the host initialises or restores), and nothing else: no arguments,
// environment, filesystem or sockets.
var instanceConfig = wazero.NewModuleConfig().WithName("").WithStartFunctions()

func (m *Module) bareInstance(ctx context.Context) (api.Module, error) {
	if m.rt.alloc != nil {
		ctx = experimental.WithMemoryAllocator(ctx, m.rt.alloc)
	}
	return m.wz.InstantiateModule(ctx, m.compiled, instanceConfig)
}

// freshInstance instantiates, writes the data segments and runs the
// initialiser.
func (m *Module) freshInstance(ctx context.Context) (api.Module, error) {
	inst, err := m.bareInstance(ctx)
	if err != nil {
		return nil, err
	}
	mem := inst.Memory()
	for _, run := range m.data {
		if !mem.Write(run.Offset, run.Data) {
			_ = inst.Close(ctx)
			return nil, fmt.Errorf("a data segment at %#x (%d bytes) lies outside the initial memory", run.Offset, len(run.Data))
		}
	}
	if m.hasInit {
		if _, err := inst.ExportedFunction(ExportInitialize).Call(ctx); err != nil {
			_ = inst.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return inst, nil
}

// instance returns a ready instance: its memory allocated already
// holding the snapshot (copy-on-write where possible), grown to the
// snapshot's size and its globals restored; or initialised from scratch
// when snapshots are off.
func (m *Module) instance(ctx context.Context) (api.Module, error) {
	if m.snap == nil {
		return m.freshInstance(ctx)
	}
	inst, err := m.wz.InstantiateModule(experimental.WithMemoryAllocator(ctx, m.image), m.compiled, instanceConfig)
	if err != nil {
		return nil, err
	}
	mem := inst.Memory()
	if cur := mem.Size() / pageSize; cur < m.snap.pages {
		if _, ok := mem.Grow(m.snap.pages - cur); !ok {
			_ = inst.Close(ctx)
			return nil, fmt.Errorf("cannot grow memory to %d pages", m.snap.pages)
		}
	}
	for i, v := range m.snap.globals {
		if m.snap.mutable[i] {
			inst.ExportedGlobal(m.globals[i]).(api.MutableGlobal).Set(v)
		}
	}
	return inst, nil
}

// Info describes the tool to the registry and the model.
func (m *Module) Info() engine.ToolInfo { return m.info }

// Name is the tool's name.
func (m *Module) Name() string { return m.name }

// Capabilities returns what the tool is granted.
func (m *Module) Capabilities() caps.Capabilities { return m.caps }

// Limits returns the tool's effective per-call limits.
func (m *Module) Limits() Limits { return m.limits }

// Hash is the SHA-256 of the module binary, in hex.
func (m *Module) Hash() string { return m.hash }

// acquire registers a running call; false once the module is closing.
func (m *Module) acquire() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.inflight++
	return true
}

func (m *Module) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	if m.closing && m.inflight == 0 {
		close(m.idle)
	}
}

// stop refuses new calls from now on.
func (m *Module) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	m.closing = true
	if m.inflight == 0 {
		close(m.idle)
	}
}

// Close stops new calls, waits for running ones (until ctx ends, after
// which they are stopped) and frees the module.
func (m *Module) Close(ctx context.Context) error {
	m.stop()
	select {
	case <-m.idle:
	case <-ctx.Done():
	}
	m.closeOnce.Do(func() {
		m.gate.Close()
		m.closeErr = m.wz.Close(context.WithoutCancel(ctx))
		if m.image != nil {
			m.image.Close()
		}
	})
	return m.closeErr
}
