package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
)

// AuditRecorder is where executions are recorded (engine.AuditStore
// satisfies it).
type AuditRecorder interface {
	RecordAudit(ctx context.Context, e engine.AuditEntry) (int64, error)
}

// SecretSource gives the host (never the guest) a user's secrets; the
// secrets package's Vault satisfies it.
type SecretSource interface {
	// Values returns every secret of the user, for leak detection.
	Values(ctx context.Context, userID string) (map[string]string, error)
	// Use returns one value for injection and records its use; an error
	// wrapping engine.ErrNotFound when the user has not set it.
	Use(ctx context.Context, userID, name string) (string, error)
	// Exists reports whether the user has set the secret.
	Exists(ctx context.Context, userID, name string) (bool, error)
}

// WorkspaceReader reads a document of a user's workspace by a clean
// relative path; an error wrapping engine.ErrNotFound when absent.
type WorkspaceReader interface {
	ReadDocument(ctx context.Context, userID, path string) (string, error)
}

// ToolInvoker runs other tools for tool-invoke (engine/tools.Registry
// satisfies it, and validates the arguments against the tool's schema).
type ToolInvoker interface {
	Info(name string) (engine.ToolInfo, bool)
	Execute(ctx context.Context, name string, inv engine.ToolInvocation) (engine.ToolResult, error)
}

// Options configure a Runtime. The zero value runs tools with the
// default limits, an in-memory compilation cache, no secrets, no
// workspace, no other tools and the real network.
type Options struct {
	// CacheDir holds compiled machine code between runs ("" keeps it in
	// memory). It must be private to Hearth: anything that can write
	// there can run native code in the Hearth process. New refuses a
	// directory others may write to.
	CacheDir string
	// Defaults are the limits of a tool whose capabilities set none;
	// Maxima are the most a capabilities file may ask for.
	Defaults, Maxima Limits
	// MaxConcurrent bounds executions running at once across all tools
	// (default 4 per CPU); others wait for a slot.
	MaxConcurrent int
	Audit         AuditRecorder
	Secrets       SecretSource
	Workspace     WorkspaceReader
	Tools         ToolInvoker
	// Leak is the base detector (its options and any global secrets);
	// each execution adds the user's secrets. Default leak.New.
	Leak *leak.Detector
	// HTTP configures every tool's gate (resolver, dialer and roots for
	// tests).
	HTTP httpgate.Options
	// NoSnapshot turns off restoring instances from the post-initialise
	// snapshot: each call then runs the module's initialiser, which is
	// several times slower. For diagnosis.
	NoSnapshot bool
	// InspectMemory, when set, sees each call's guest memory just before
	// the instance is freed (it must not keep the slice). For tests that
	// prove what a guest never saw, and for forensics.
	InspectMemory func(tool string, memory []byte)
	Logger        *slog.Logger
	Now           func() time.Time
}

// Runtime loads and runs WASM tools. It is safe for concurrent use.
type Runtime struct {
	opts   Options
	cache  wazero.CompilationCache
	log    *slog.Logger
	leak   *leak.Detector
	sem    chan struct{}
	alloc  experimental.MemoryAllocator
	start  time.Time
	closed atomic.Bool
}

// New returns a Runtime.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	opts.Defaults = opts.Defaults.fillZero(DefaultLimits())
	opts.Maxima = opts.Maxima.fillZero(MaximumLimits())
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 4 * runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Runtime{opts: opts, log: opts.Logger, leak: opts.Leak, sem: make(chan struct{}, opts.MaxConcurrent),
		alloc: memoryAllocator(), start: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.leak == nil {
		r.leak = leak.New(leak.Options{})
	}
	if opts.CacheDir == "" {
		r.cache = wazero.NewCompilationCache()
		return r, nil
	}
	if err := privateDir(opts.CacheDir); err != nil {
		return nil, fmt.Errorf("sandbox: compilation cache: %w", err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: compilation cache %s: %w", opts.CacheDir, err)
	}
	r.cache = cache
	return r, nil
}

// privateDir creates dir with mode 0700, or checks that an existing one
// is a directory that neither group nor others may write to, under
// parents nobody else can rename it in (world-writable parents must be
// sticky, like /tmp).
func privateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", abs)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %v); run chmod go-w %s", abs, fi.Mode().Perm(), abs)
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&os.ModeSticky == 0 {
			return fmt.Errorf("parent %s is writable by anyone (mode %v)", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// Close releases the compilation cache. Modules must be closed first.
func (r *Runtime) Close(ctx context.Context) error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.cache.Close(ctx)
}

func (r *Runtime) now() time.Time { return r.opts.Now() }

// wazeroRuntime makes the engine for one module: its memory limit, the
// shared compilation cache, guests stopped when their context ends, and
// the two host namespaces.
func (r *Runtime) wazeroRuntime(ctx context.Context, memoryPages uint32) (wazero.Runtime, error) {
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(memoryPages).
		WithDebugInfoEnabled(false)
	wz := wazero.NewRuntimeWithConfig(ctx, cfg)
	w := &wasiHost{now: r.opts.Now, start: r.start}
	if err := w.instantiate(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		return nil, fmt.Errorf("sandbox: WASI host module: %w", err)
	}
	if err := r.instantiateHost(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		return nil, fmt.Errorf("sandbox: hearth host module: %w", err)
	}
	return wz, nil
}

// CapabilitiesPath is where the capabilities of NAME.wasm live.
func CapabilitiesPath(wasmPath string) string {
	return strings.TrimSuffix(wasmPath, ".wasm") + ".capabilities.json"
}

// ToolName derives a tool's name from its module file (NAME.wasm).
func ToolName(wasmPath string) (string, error) {
	base := filepath.Base(wasmPath)
	if !strings.HasSuffix(base, ".wasm") {
		return "", fmt.Errorf("sandbox: %s: a tool module file must end in .wasm", wasmPath)
	}
	name := strings.TrimSuffix(base, ".wasm")
	if err := caps.ValidateToolName(name); err != nil {
		return "", fmt.Errorf("sandbox: %s: tool name: %w", wasmPath, err)
	}
	return name, nil
}

// ReadCapabilities reads and parses the capabilities file of a module;
// a missing file is an error (a tool ships one, even if empty).
func ReadCapabilities(wasmPath string) (caps.Capabilities, error) {
	p := CapabilitiesPath(wasmPath)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return caps.Capabilities{}, fmt.Errorf("sandbox: %s is missing; every tool needs a capabilities file beside it (an empty one grants nothing)", p)
	}
	if err != nil {
		return caps.Capabilities{}, fmt.Errorf("sandbox: %w", err)
	}
	c, err := caps.Parse(data)
	if err != nil {
		return caps.Capabilities{}, fmt.Errorf("sandbox: %s: %w", p, err)
	}
	return c, nil
}

// LoadFile loads NAME.wasm with NAME.capabilities.json beside it.
func (r *Runtime) LoadFile(ctx context.Context, wasmPath string) (*Module, error) {
	name, err := ToolName(wasmPath)
	if err != nil {
		return nil, err
	}
	c, err := ReadCapabilities(wasmPath)
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return r.Load(ctx, name, wasm, c)
}
