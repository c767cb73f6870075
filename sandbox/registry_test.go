package sandbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

// The tool registry is what the loader registers into and what
// tool-invoke calls through.
var (
	_ sandbox.Registrar   = (*tools.Registry)(nil)
	_ sandbox.ToolInvoker = (*tools.Registry)(nil)
)

func TestThroughTheToolRegistry(t *testing.T) {
	reg := tools.New(tools.Options{})
	for _, b := range builtin.Tools(nil) {
		if err := reg.Register(b); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixture(t, func(o *sandbox.Options) { o.Tools = reg })
	dir := toolsDir(t)
	l := sandbox.NewLoader(f.rt, dir, reg, sandbox.LoaderOptions{})
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ctx := context.Background()

	sandboxtest.InstallTool(t, dir, "hostile", f.wasm["hostile"], hostileCaps)
	// A WASM tool may not take a built-in's name.
	sandboxtest.InstallTool(t, dir, "echo", f.wasm["trivial"], "{}")
	ev, err := l.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kinds(ev) != "echo:refused,hostile:loaded" || !strings.Contains(ev[0].Err.Error(), "the registry refused echo") {
		t.Fatalf("events %s %v", kinds(ev), ev)
	}
	info, ok := reg.Info("hostile")
	if !ok || info.Source != "wasm" || !info.Sensitive {
		t.Fatalf("registered info %+v", info)
	}

	run := func(args string) engine.ToolResult {
		t.Helper()
		res, err := reg.Execute(ctx, "hostile", engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(args)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(`{"attack":"state"}`); res.IsError || res.Content != "calls=1" {
		t.Fatalf("through the registry: %+v", res)
	}
	// The registry validates against the schema the module declared.
	if res := run(`{"attack": 7}`); !res.IsError || !strings.Contains(res.Content, "attack") {
		t.Fatalf("schema violation: %+v", res)
	}
	if len(f.audit.Entries()) != 1 {
		t.Fatalf("the guest ran for invalid arguments (%d audit entries)", len(f.audit.Entries()))
	}
	// tool-invoke reaches the built-in echo through the registry, with
	// its arguments validated there.
	res := run(`{"attack":"invoke","name":"echo","params":{"text":"hello from wasm"}}`)
	if res.IsError || !strings.Contains(res.Content, "hello from wasm") {
		t.Fatalf("invoke echo: %+v", res)
	}
	// A replacement through the loader swaps the registry's entry.
	sandboxtest.InstallTool(t, dir, "hostile", f.wasm["trivial"], "{}")
	if ev, _ := l.Scan(ctx); kinds(ev) != "hostile:replaced" {
		t.Fatalf("events %s", kinds(ev))
	}
	if info, _ := reg.Info("hostile"); info.Description != "Echo the text parameter." {
		t.Fatalf("not replaced in the registry: %+v", info)
	}
}
