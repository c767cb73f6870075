package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

func benchTrivial(b *testing.B, opts sandbox.Options) {
	mods := sandboxtest.BuildWasm(b, "sandbox/testdata/guests/trivial")
	ctx := context.Background()
	rt, err := sandbox.New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	wasm, _ := os.ReadFile(mods["trivial"])
	m, err := rt.Load(ctx, "trivial", wasm, caps.Capabilities{})
	if err != nil {
		b.Fatal(err)
	}
	inv := engine.ToolInvocation{UserID: "u", Args: json.RawMessage(`{"text":"hi"}`)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := m.Execute(ctx, inv)
		if err != nil || res.IsError {
			b.Fatal(err, res)
		}
	}
}

func BenchmarkTrivialCall(b *testing.B)           { benchTrivial(b, sandbox.Options{}) }
func BenchmarkTrivialCallNoSnapshot(b *testing.B) { benchTrivial(b, sandbox.Options{NoSnapshot: true}) }
