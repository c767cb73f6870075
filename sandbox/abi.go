package sandbox

import "github.com/tetratelabs/wazero/api"

// The core-wasm ABI of the tool world (wit/tool.wit); wit/README.md
// documents it and abi_test.go keeps the three in agreement.

// HostModule is the one import namespace of the host functions.
const HostModule = "hearth"

// WASIModule is the namespace of the WASI preview 1 subset the host
// provides for the Go runtime (clocks, random, exit, stdout/stderr into
// the capped log; everything else answers "not capable").
const WASIModule = "wasi_snapshot_preview1"

// Host imports. Each WIT function of the host interface maps to the
// snake_case name; result_take is ABI plumbing with no WIT counterpart.
const (
	ImportLog           = "log"
	ImportNowMillis     = "now_millis"
	ImportWorkspaceRead = "workspace_read"
	ImportHTTPRequest   = "http_request"
	ImportSecretExists  = "secret_exists"
	ImportToolInvoke    = "tool_invoke"
	ImportResultTake    = "result_take"
)

// Guest exports. description, schema and execute are the WIT exports;
// hearth_alloc, memory and _initialize are ABI plumbing.
const (
	ExportAlloc       = "hearth_alloc"
	ExportDescription = "description"
	ExportSchema      = "schema"
	ExportExecute     = "execute"
	ExportInitialize  = "_initialize"
	ExportPrepare     = "hearth_prepare"
	ExportMemory      = "memory"
)

// ABIOnlyImports lists the host imports that implement the ABI rather
// than a WIT function.
func ABIOnlyImports() []string { return []string{ImportResultTake} }

// ABIOnlyExports lists the guest exports that implement the ABI rather
// than a WIT function.
func ABIOnlyExports() []string { return []string{ExportAlloc, ExportInitialize, ExportPrepare} }

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// signature is a core function type.
type signature struct {
	params, results []api.ValueType
}

// guestExports are the required function exports and their types.
// _initialize is optional (a module without it needs no initialisation).
var guestExports = map[string]signature{
	ExportAlloc:       {[]api.ValueType{i32}, []api.ValueType{i32}},
	ExportDescription: {nil, []api.ValueType{i64}},
	ExportSchema:      {nil, []api.ValueType{i64}},
	ExportExecute:     {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// unpack splits an i64 result into a pointer and a length.
func unpack(v uint64) (ptr, n uint32) { return uint32(v >> 32), uint32(v) }
