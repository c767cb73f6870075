// Package wasmgen writes small core WebAssembly modules byte by byte, for
// tests that need modules no compiler would emit: forged ABI results,
// out-of-range pointers, forbidden imports, start functions.
package wasmgen

import "encoding/binary"

// Value types.
const (
	I32 byte = 0x7f
	I64 byte = 0x7e
)

// Import is an imported function.
type Import struct {
	Module, Name    string
	Params, Results []byte
}

// Func is a defined function; Body is its instructions without the
// final end.
type Func struct {
	Params, Results []byte
	Locals          []byte // one entry per local
	Body            []byte
	Export          string // "" to keep it private
}

// Data is an active data segment at a constant offset.
type Data struct {
	Offset uint32
	Bytes  []byte
}

// Module describes a module to encode.
type Module struct {
	Imports      []Import
	Funcs        []Func
	MemoryPages  uint32 // 0: no memory
	ExportMemory string // "" to keep it private
	Globals      []Global
	Data         []Data
	// Start, when set, is the index (imports first) of a start function.
	Start *int
}

// Global is a mutable i32 or i64 global with a constant initial value.
type Global struct {
	Type    byte
	Init    int64
	Mutable bool
}

func uleb(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// SLEB appends a signed LEB128 value.
func SLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

func section(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(payload)))
	return append(out, payload...)
}

func vec(n int, items ...[]byte) []byte {
	out := uleb(nil, uint64(n))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func funcType(params, results []byte) []byte {
	b := []byte{0x60}
	b = append(uleb(b, uint64(len(params))), params...)
	return append(uleb(b, uint64(len(results))), results...)
}

// Encode returns the binary module.
func (m Module) Encode() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	var types [][]byte
	for _, im := range m.Imports {
		types = append(types, funcType(im.Params, im.Results))
	}
	for _, f := range m.Funcs {
		types = append(types, funcType(f.Params, f.Results))
	}
	out = section(out, 1, vec(len(types), types...))
	if len(m.Imports) > 0 {
		var items [][]byte
		for i, im := range m.Imports {
			b := name(name(nil, im.Module), im.Name)
			b = append(b, 0)
			items = append(items, uleb(b, uint64(i)))
		}
		out = section(out, 2, vec(len(items), items...))
	}
	var fidx [][]byte
	for i := range m.Funcs {
		fidx = append(fidx, uleb(nil, uint64(len(m.Imports)+i)))
	}
	out = section(out, 3, vec(len(fidx), fidx...))
	if m.MemoryPages > 0 {
		out = section(out, 5, vec(1, uleb([]byte{0}, uint64(m.MemoryPages))))
	}
	if len(m.Globals) > 0 {
		var gs [][]byte
		for _, g := range m.Globals {
			mut := byte(0)
			if g.Mutable {
				mut = 1
			}
			b := []byte{g.Type, mut}
			if g.Type == I64 {
				b = SLEB(append(b, 0x42), g.Init)
			} else {
				b = SLEB(append(b, 0x41), g.Init)
			}
			gs = append(gs, append(b, 0x0b))
		}
		out = section(out, 6, vec(len(gs), gs...))
	}
	var exports [][]byte
	for i, f := range m.Funcs {
		if f.Export != "" {
			b := append(name(nil, f.Export), 0)
			exports = append(exports, uleb(b, uint64(len(m.Imports)+i)))
		}
	}
	if m.ExportMemory != "" && m.MemoryPages > 0 {
		exports = append(exports, append(name(nil, m.ExportMemory), 2, 0))
	}
	out = section(out, 7, vec(len(exports), exports...))
	if m.Start != nil {
		out = section(out, 8, uleb(nil, uint64(*m.Start)))
	}
	var bodies [][]byte
	for _, f := range m.Funcs {
		var locals []byte
		locals = uleb(locals, uint64(len(f.Locals)))
		for _, l := range f.Locals {
			locals = append(locals, 1, l)
		}
		body := append(append(locals, f.Body...), 0x0b)
		bodies = append(bodies, append(uleb(nil, uint64(len(body))), body...))
	}
	out = section(out, 10, vec(len(bodies), bodies...))
	if len(m.Data) > 0 {
		var ds [][]byte
		for _, d := range m.Data {
			b := SLEB([]byte{0, 0x41}, int64(int32(d.Offset)))
			b = append(b, 0x0b)
			b = uleb(b, uint64(len(d.Bytes)))
			ds = append(ds, append(b, d.Bytes...))
		}
		out = section(out, 11, vec(len(ds), ds...))
	}
	return out
}

// Instruction helpers.

// I32Const pushes an i32.
func I32Const(v int32) []byte { return SLEB([]byte{0x41}, int64(v)) }

// I64Const pushes an i64.
func I64Const(v int64) []byte { return SLEB([]byte{0x42}, v) }

// Call calls function idx.
func Call(idx int) []byte { return uleb([]byte{0x10}, uint64(idx)) }

// Drop, Unreachable and an endless loop.
var (
	Drop        = []byte{0x1a}
	Unreachable = []byte{0x00}
	Forever     = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b} // loop br 0 end
)

// Cat joins instruction sequences.
func Cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
