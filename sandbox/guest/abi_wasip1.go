//go:build wasip1

package guest

import (
	"runtime"
	"unsafe"
)

// The host imports, all in the "hearth" module namespace. Functions that
// return data answer with the length of a pending reply, which the guest
// then copies into a buffer of its own with result_take. See
// wit/README.md for the ABI.

//go:wasmimport hearth log
func importLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport hearth now_millis
func importNowMillis() int64

//go:wasmimport hearth workspace_read
func importWorkspaceRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport hearth http_request
func importHTTPRequest(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport hearth secret_exists
func importSecretExists(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport hearth tool_invoke
func importToolInvoke(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport hearth result_take
func importResultTake(ptr unsafe.Pointer, n uint32) int32

// Buffers the host reads after an export returns; kept reachable here so
// the garbage collector leaves them alone.
var (
	inputBuf  []byte
	outputBuf []byte
)

func ptrOf(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

// pack returns b's address and length as the i64 the host expects.
func pack(b []byte) uint64 {
	outputBuf = b
	return uint64(uintptr(ptrOf(b)))<<32 | uint64(len(b))
}

//go:wasmexport hearth_alloc
func exportAlloc(n uint32) uint32 {
	inputBuf = make([]byte, n)
	return uint32(uintptr(ptrOf(inputBuf)))
}

//go:wasmexport description
func exportDescription() uint64 { return pack([]byte(describe())) }

//go:wasmexport schema
func exportSchema() uint64 { return pack([]byte(schema())) }

//go:wasmexport hearth_prepare
func exportPrepare() { prepare() }

//go:wasmexport execute
func exportExecute(ptr, n uint32) uint64 {
	in := inputBuf
	if uint32(uintptr(ptrOf(in))) != ptr || int(n) > len(in) {
		return pack(mustMarshal(outcome{Error: "execute called with a buffer hearth_alloc did not return"}))
	}
	inputBuf = nil
	return pack(execute(in[:n]))
}

// takeReply copies the pending reply of n bytes out of the host.
func takeReply(n int32) []byte {
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	got := importResultTake(ptrOf(buf), uint32(n))
	runtime.KeepAlive(buf)
	return buf[:got]
}

func hostLog(level Level, msg string) {
	b := []byte(msg)
	importLog(int32(level), ptrOf(b), uint32(len(b)))
	runtime.KeepAlive(b)
}

func hostNowMillis() int64 { return importNowMillis() }

func viaImport(fn func(unsafe.Pointer, uint32) int32, req []byte) ([]byte, error) {
	n := fn(ptrOf(req), uint32(len(req)))
	runtime.KeepAlive(req)
	return takeReply(n), nil
}

func hostWorkspaceRead(req []byte) ([]byte, error) { return viaImport(importWorkspaceRead, req) }
func hostHTTP(req []byte) ([]byte, error)          { return viaImport(importHTTPRequest, req) }
func hostToolInvoke(req []byte) ([]byte, error)    { return viaImport(importToolInvoke, req) }

func hostSecretExists(name string) bool {
	b := []byte(name)
	r := importSecretExists(ptrOf(b), uint32(len(b)))
	runtime.KeepAlive(b)
	return r == 1
}
