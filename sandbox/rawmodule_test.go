package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/internal/wasmgen"
)

// raw describes a hand-written module speaking (or breaking) the ABI.
type raw struct {
	alloc   []byte // body of hearth_alloc (i32) -> i32
	execute []byte // body of execute (i32, i32) -> i64
	init    []byte // body of _initialize; nil: not exported
	desc    string
	schema  string
	imports []wasmgen.Import
	noMem   bool
	pages   uint32
	drop    string // an export to leave out
	execSig *[2][]byte
}

const (
	descAt   = 1024
	schemaAt = 2048
	outAt    = 4096
	okOut    = `{"output":"raw ok"}`
)

func packed(ptr, n uint32) []byte { return wasmgen.I64Const(int64(uint64(ptr)<<32 | uint64(n))) }

func (r raw) module() []byte {
	if r.desc == "" {
		r.desc = "A raw test module."
	}
	if r.schema == "" {
		r.schema = `{"type":"object"}`
	}
	if r.alloc == nil {
		r.alloc = wasmgen.I32Const(8192)
	}
	if r.execute == nil {
		r.execute = packed(outAt, uint32(len(okOut)))
	}
	if r.pages == 0 {
		r.pages = 2
	}
	imports := append([]wasmgen.Import{
		{Module: "hearth", Name: "http_request", Params: []byte{wasmgen.I32, wasmgen.I32}, Results: []byte{wasmgen.I32}},
	}, r.imports...)
	execParams, execResults := []byte{wasmgen.I32, wasmgen.I32}, []byte{wasmgen.I64}
	if r.execSig != nil {
		execParams, execResults = r.execSig[0], r.execSig[1]
	}
	funcs := []wasmgen.Func{
		{Params: []byte{wasmgen.I32}, Results: []byte{wasmgen.I32}, Body: r.alloc, Export: "hearth_alloc"},
		{Results: []byte{wasmgen.I64}, Body: packed(descAt, uint32(len(r.desc))), Export: "description"},
		{Results: []byte{wasmgen.I64}, Body: packed(schemaAt, uint32(len(r.schema))), Export: "schema"},
		{Params: execParams, Results: execResults, Body: r.execute, Export: "execute"},
	}
	if r.init != nil {
		funcs = append(funcs, wasmgen.Func{Body: r.init, Export: "_initialize"})
	}
	for i := range funcs {
		if funcs[i].Export == r.drop {
			funcs[i].Export = ""
		}
	}
	m := wasmgen.Module{
		Imports: imports, Funcs: funcs, MemoryPages: r.pages, ExportMemory: "memory",
		Globals: []wasmgen.Global{{Type: wasmgen.I32, Init: 1, Mutable: true}},
		Data: []wasmgen.Data{
			{Offset: descAt, Bytes: []byte(r.desc)},
			{Offset: schemaAt, Bytes: []byte(r.schema)},
			{Offset: outAt, Bytes: []byte(okOut)},
		},
	}
	if r.noMem {
		m.ExportMemory = ""
	}
	return m.Encode()
}

func loadRaw(t *testing.T, f *fixture, r raw, capsJSON string) (*sandbox.Module, error) {
	t.Helper()
	c, err := caps.Parse([]byte(capsJSON))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.rt.Load(context.Background(), "raw", r.module(), c)
	if err == nil {
		t.Cleanup(func() { _ = m.Close(context.Background()) })
	}
	return m, err
}

func TestABIViolationsBecomeToolErrors(t *testing.T) {
	f := newFixture(t)
	httpOOB := wasmgen.Cat(wasmgen.I32Const(-256), wasmgen.I32Const(100), wasmgen.Call(0), wasmgen.Drop, packed(outAt, uint32(len(okOut))))
	tests := []struct {
		name string
		r    raw
		want string
	}{
		{"well-behaved", raw{}, ""},
		{"forged huge output length", raw{execute: packed(0, 0xffffffff)}, "exceeds the 262144-byte limit"},
		{"output outside memory", raw{execute: packed(2*65536-8, 100)}, "execute returned a range outside its memory"},
		{"allocator outside memory", raw{alloc: wasmgen.I32Const(-16)}, "hearth_alloc returned a buffer outside its memory"},
		{"trap", raw{execute: wasmgen.Unreachable}, "it crashed while running (wasm error: unreachable)"},
		{"host call pointing outside memory", raw{execute: httpOOB}, "a host call pointed outside its memory"},
		{"not the SDK envelope", raw{execute: packed(descAt, 5)}, "malformed result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := loadRaw(t, f, tt.r, `{"limits":{"timeout_ms":2000}}`)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Execute(context.Background(), engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if res.IsError || res.Content != "raw ok" {
					t.Fatalf("%+v", res)
				}
				return
			}
			if !res.IsError || !strings.Contains(res.Content, tt.want) {
				t.Fatalf("content %q, want an error containing %q", res.Content, tt.want)
			}
			// The module still serves.
			res, _ = m.Execute(context.Background(), engine.ToolInvocation{UserID: "u1"})
			if tt.name != "well-behaved" && !res.IsError {
				t.Fatalf("a broken module started working: %+v", res)
			}
		})
	}
}

func TestLoadRefusesBrokenModules(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		r    raw
		caps string
		want string
	}{
		{"foreign import namespace", raw{imports: []wasmgen.Import{{Module: "env", Name: "system", Params: []byte{wasmgen.I32}}}}, "", `imports env.system: only the "hearth" and "wasi_snapshot_preview1" namespaces exist`},
		{"unknown host function", raw{imports: []wasmgen.Import{{Module: "hearth", Name: "exec_shell"}}}, "", "imports hearth.exec_shell, which the host does not provide"},
		{"WASI function with the wrong type", raw{imports: []wasmgen.Import{{Module: "wasi_snapshot_preview1", Name: "path_open", Params: []byte{wasmgen.I32}, Results: []byte{wasmgen.I32}}}}, "", "imports wasi_snapshot_preview1.path_open with the wrong type"},
		{"missing execute", raw{drop: "execute"}, "", `does not export "execute"`},
		{"execute with the wrong type", raw{execSig: &[2][]byte{{wasmgen.I32}, {wasmgen.I32}}, execute: wasmgen.I32Const(0)}, "", `exports "execute" with the wrong type (i32) -> (i32)`},
		{"memory not exported", raw{noMem: true}, "", `does not export its memory as "memory"`},
		{"initialiser that never returns", raw{init: wasmgen.Forever}, `{"limits":{"timeout_ms":300}}`, "stopped while initialising: it ran longer than its 300ms time limit"},
		{"initialiser that traps", raw{init: wasmgen.Unreachable}, "", "it crashed while initialising"},
		{"empty description", raw{desc: "   "}, "", "its description is empty"},
		{"schema not an object", raw{schema: `{"type":"array"}`}, "", `must be a JSON Schema with "type": "object"`},
		{"schema not JSON", raw{schema: `{type: object}`}, "", "its parameter schema is not JSON"},
		{"schema invalid", raw{schema: `{"type":"object","properties":{"a":{"type":"nonsense"}}}`}, "", "its parameter schema is invalid"},
		{"memory above the limit", raw{pages: 2048}, "", "compile"},
		{"limit above the host maximum", raw{}, `{"limits":{"timeout_ms":999999999}}`, "limits.timeout_ms: 999999999 exceeds the host maximum 120000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadRaw(t, f, tt.r, tt.caps)
			if !errors.Is(err, sandbox.ErrInvalidModule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v\nwant ErrInvalidModule containing %q", err, tt.want)
			}
		})
	}
	c := caps.Capabilities{}
	for _, bad := range [][]byte{nil, []byte("not wasm at all"), []byte("\x00asm\x01\x00\x00\x00\x01\xff")} {
		if _, err := f.rt.Load(context.Background(), "junk", bad, c); !errors.Is(err, sandbox.ErrInvalidModule) {
			t.Errorf("Load(%q) = %v", bad, err)
		}
	}
	if _, err := f.rt.Load(context.Background(), "Bad-Name", raw{}.module(), c); !errors.Is(err, sandbox.ErrInvalidModule) {
		t.Errorf("bad tool name accepted: %v", err)
	}
}
