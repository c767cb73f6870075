// Package wasmbin prepares a core WebAssembly module for the sandbox by
// rewriting its binary:
//
//   - the data section is taken out and returned as merged runs of bytes
//     (Go's linker emits tens of thousands of tiny segments, which makes
//     every instantiation slow); the host writes them into memory itself;
//   - every module-defined global is exported under a reserved name, so
//     that the host can capture and restore the complete state of an
//     initialised instance (memory plus globals).
//
// It refuses modules it cannot prepare faithfully: a start section (code
// that would run on every instantiation), passive or non-constant data
// segments, imported memories or globals. The result is validated again
// by wazero when compiled.
package wasmbin

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// GlobalExportPrefix names the exports added for the module's globals:
// "hearth.global.0", "hearth.global.1", ...
const GlobalExportPrefix = "hearth.global."

// mergeGap is the largest run of zeros filled in to join two segments.
const mergeGap = 4096

// Section ids.
const (
	secCustom    = 0
	secImport    = 2
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secData      = 11
	secDataCount = 12
	maxSectionID = 13
)

// ErrUnsupported wraps every reason a module is refused.
var ErrUnsupported = errors.New("unsupported module")

// Run is a contiguous block of initial memory contents.
type Run struct {
	Offset uint32
	Data   []byte
}

// Prepared is a rewritten module.
type Prepared struct {
	// Wasm is the rewritten binary: no data section, globals exported.
	Wasm []byte
	// Data holds the initial memory contents, in increasing offset order
	// and non-overlapping.
	Data []Run
	// Globals is how many globals were exported.
	Globals int
}

// GlobalName is the export name of global i.
func GlobalName(i int) string { return fmt.Sprintf("%s%d", GlobalExportPrefix, i) }

type reader struct {
	b   []byte
	pos int
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrUnsupported, r.pos, fmt.Sprintf(format, args...))
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail("unexpected end")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 || n > 5 || v > 0xffffffff {
		return 0, r.fail("bad unsigned LEB128")
	}
	r.pos += n
	return uint32(v), nil
}

func (r *reader) s32() (int32, error) {
	var v int64
	var shift uint
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, r.fail("i32 constant out of range")
			}
			return int32(v), nil
		}
	}
	return 0, r.fail("bad signed LEB128")
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(r.pos)+uint64(n) > uint64(len(r.b)) {
		return nil, r.fail("length %d past the end", n)
	}
	out := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return out, nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	return string(b), err
}

// Prepare rewrites wasm as described in the package documentation.
func Prepare(wasm []byte) (*Prepared, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: not a WebAssembly binary (bad magic)", ErrUnsupported)
	}
	if binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, fmt.Errorf("%w: WebAssembly binary version %d (want 1; components are not supported)",
			ErrUnsupported, binary.LittleEndian.Uint32(wasm[4:8]))
	}
	out := append(make([]byte, 0, len(wasm)), wasm[:8]...)
	r := &reader{b: wasm, pos: 8}
	p := &Prepared{}
	var sawExport bool
	var exportNames []string
	for r.pos < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		payload, err := r.bytes(size)
		if err != nil {
			return nil, err
		}
		if id > maxSectionID {
			return nil, r.fail("unknown section id %d", id)
		}
		switch id {
		case secImport:
			if err := checkImports(payload); err != nil {
				return nil, err
			}
		case secGlobal:
			n, err := (&reader{b: payload}).u32()
			if err != nil {
				return nil, err
			}
			p.Globals = int(n)
		case secStart:
			return nil, fmt.Errorf("%w: the module has a start function; export an initialiser (_initialize) instead", ErrUnsupported)
		case secExport:
			sawExport = true
			payload, exportNames, err = addGlobalExports(payload, p.Globals)
			if err != nil {
				return nil, err
			}
		case secData:
			p.Data, err = readData(payload)
			if err != nil {
				return nil, err
			}
			continue // dropped from the binary
		case secDataCount:
			continue // no data segments remain; memory.init would fail validation
		}
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(payload)))
		out = append(out, payload...)
	}
	if !sawExport {
		return nil, fmt.Errorf("%w: the module exports nothing", ErrUnsupported)
	}
	for _, n := range exportNames {
		if strings.HasPrefix(n, GlobalExportPrefix) {
			return nil, fmt.Errorf("%w: export %q uses the reserved prefix %q", ErrUnsupported, n, GlobalExportPrefix)
		}
	}
	p.Wasm = out
	return p, nil
}

// checkImports refuses imported memories, tables and globals: the
// sandbox's state capture covers module-defined ones only.
func checkImports(payload []byte) error {
	r := &reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return err
		}
		field, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind != 0 {
			what := map[byte]string{1: "table", 2: "memory", 3: "global"}[kind]
			if what == "" {
				what = fmt.Sprintf("kind %d", kind)
			}
			return fmt.Errorf("%w: imports %s %s.%s; only functions may be imported", ErrUnsupported, what, mod, field)
		}
		if _, err := r.u32(); err != nil { // type index
			return err
		}
	}
	return nil
}

// addGlobalExports appends one export per global to the export section.
func addGlobalExports(payload []byte, globals int) ([]byte, []string, error) {
	r := &reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, n)
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		if _, err := r.byte(); err != nil {
			return nil, nil, err
		}
		if _, err := r.u32(); err != nil {
			return nil, nil, err
		}
	}
	out := binary.AppendUvarint(nil, uint64(n)+uint64(globals))
	out = append(out, payload[len(binary.AppendUvarint(nil, uint64(n))):]...)
	for g := 0; g < globals; g++ {
		name := GlobalName(g)
		out = binary.AppendUvarint(out, uint64(len(name)))
		out = append(out, name...)
		out = append(out, 3) // global
		out = binary.AppendUvarint(out, uint64(g))
	}
	return out, names, nil
}

// readData parses active segments with constant offsets for memory 0 and
// merges neighbours closer than mergeGap.
func readData(payload []byte) ([]Run, error) {
	r := &reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	type segment struct {
		off  uint64
		data []byte
	}
	var segs []segment
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return nil, err
		}
		if flags == 2 {
			mem, err := r.u32()
			if err != nil {
				return nil, err
			}
			if mem != 0 {
				return nil, r.fail("data segment %d targets memory %d", i, mem)
			}
		} else if flags != 0 {
			return nil, r.fail("data segment %d is passive; only active segments are supported", i)
		}
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		if op != 0x41 { // i32.const
			return nil, r.fail("data segment %d offset is not an i32 constant", i)
		}
		off, err := r.s32()
		if err != nil {
			return nil, err
		}
		if e, err := r.byte(); err != nil || e != 0x0b {
			return nil, r.fail("data segment %d offset expression is not a single constant", i)
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		data, err := r.bytes(size)
		if err != nil {
			return nil, err
		}
		if size > 0 {
			segs = append(segs, segment{off: uint64(uint32(off)), data: data})
		}
	}
	// Segments may come in any order; overlapping ones would make the
	// result depend on their order, which the merge does not keep.
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.off, b.off) })
	var runs []Run
	var end uint64
	for i, sg := range segs {
		if i > 0 && sg.off < end {
			return nil, fmt.Errorf("%w: data segments overlap at offset %#x", ErrUnsupported, sg.off)
		}
		if len(runs) > 0 && sg.off-end <= mergeGap {
			last := &runs[len(runs)-1]
			last.Data = append(last.Data, make([]byte, sg.off-end)...)
			last.Data = append(last.Data, sg.data...)
		} else {
			runs = append(runs, Run{Offset: uint32(sg.off), Data: append([]byte(nil), sg.data...)})
		}
		end = sg.off + uint64(len(sg.data))
	}
	if r.pos != len(payload) {
		return nil, r.fail("trailing bytes in the data section")
	}
	return runs, nil
}
