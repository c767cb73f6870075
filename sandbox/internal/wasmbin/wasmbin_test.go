package wasmbin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/sandbox/internal/wasmbin"
	"github.com/hearthbot/hearth/sandbox/internal/wasmgen"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func TestPrepareMergesDataAndExportsGlobals(t *testing.T) {
	mod := wasmgen.Module{
		MemoryPages:  1,
		ExportMemory: "memory",
		Globals:      []wasmgen.Global{{Type: wasmgen.I32, Init: 7, Mutable: true}, {Type: wasmgen.I64, Init: -3}},
		Funcs:        []wasmgen.Func{{Results: []byte{wasmgen.I32}, Body: wasmgen.I32Const(1), Export: "f"}},
		Data: []wasmgen.Data{
			{Offset: 5000, Bytes: []byte("later")}, // out of order on purpose
			{Offset: 100, Bytes: []byte("abc")},
			{Offset: 110, Bytes: []byte("def")},
			{Offset: 100 + 3 + 4096 + 50, Bytes: []byte("far")},
		},
	}
	p, err := wasmbin.Prepare(mod.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if p.Globals != 2 {
		t.Fatalf("Globals = %d", p.Globals)
	}
	// 100..113 merged (gap of 7 zeros); 4249 separate; 5000 merges with
	// it (gap under 4096).
	if len(p.Data) != 2 || p.Data[0].Offset != 100 || !bytes.Equal(p.Data[0].Data, []byte("abc\x00\x00\x00\x00\x00\x00\x00def")) {
		t.Fatalf("runs %+v", p.Data)
	}
	if p.Data[1].Offset != 4249 || !bytes.HasSuffix(p.Data[1].Data, []byte("later")) || !bytes.HasPrefix(p.Data[1].Data, []byte("far")) {
		t.Fatalf("second run at %d: %q…", p.Data[1].Offset, p.Data[1].Data[:3])
	}

	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	inst, err := rt.InstantiateWithConfig(ctx, p.Wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("rewritten module does not instantiate: %v", err)
	}
	if b, _ := inst.Memory().Read(100, 3); string(b) == "abc" {
		t.Fatal("data section was not removed")
	}
	g0, ok := inst.ExportedGlobal(wasmbin.GlobalName(0)).(api.MutableGlobal)
	if !ok || g0.Get() != 7 {
		t.Fatalf("global 0 not exported as mutable 7: %v", inst.ExportedGlobal(wasmbin.GlobalName(0)))
	}
	g0.Set(9)
	if g0.Get() != 9 {
		t.Fatal("cannot set the exported global")
	}
	if g1 := inst.ExportedGlobal(wasmbin.GlobalName(1)); g1 == nil || int64(g1.Get()) != -3 {
		t.Fatalf("global 1: %v", g1)
	}
}

func TestPrepareRefuses(t *testing.T) {
	start := 0
	withStart := wasmgen.Module{Funcs: []wasmgen.Func{{Body: nil}}, Start: &start}
	memImport := []byte("\x00asm\x01\x00\x00\x00" +
		"\x02\x0f\x01\x03env\x06memory\x02\x00\x01") // import env.memory (memory, min 1)
	passive := []byte("\x00asm\x01\x00\x00\x00\x0b\x05\x01\x01\x02hi")
	overlap := wasmgen.Module{MemoryPages: 1, Funcs: []wasmgen.Func{{Export: "f"}},
		Data: []wasmgen.Data{{Offset: 10, Bytes: []byte("abcd")}, {Offset: 12, Bytes: []byte("zz")}}}
	reserved := wasmgen.Module{Funcs: []wasmgen.Func{{Export: wasmbin.GlobalExportPrefix + "0"}}}
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"not wasm", []byte("#!/bin/sh\necho hi"), "bad magic"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), "version"},
		{"start function", withStart.Encode(), "start function"},
		{"imported memory", memImport, "imports memory env.memory"},
		{"passive data", passive, "passive"},
		{"overlapping data", overlap.Encode(), "overlap"},
		{"reserved export name", reserved.Encode(), "reserved prefix"},
		{"truncated", wasmgen.Module{Funcs: []wasmgen.Func{{Export: "f"}}}.Encode()[:20], "past the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wasmbin.Prepare(tt.wasm)
			if !errors.Is(err, wasmbin.ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare = %v, want ErrUnsupported containing %q", err, tt.want)
			}
		})
	}
}
