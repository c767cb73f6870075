package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
)

// funcTool is a test tool whose behaviour is a function.
type funcTool struct {
	info engine.ToolInfo
	fn   func(ctx context.Context, call engine.ToolInvocation) (engine.ToolResult, error)
}

func (t *funcTool) Info() engine.ToolInfo { return t.info }

func (t *funcTool) Execute(ctx context.Context, call engine.ToolInvocation) (engine.ToolResult, error) {
	if t.fn == nil {
		return engine.ToolResult{Content: "ok:" + string(call.Args)}, nil
	}
	return t.fn(ctx, call)
}

func newTool(name, params string) *funcTool {
	return &funcTool{info: engine.ToolInfo{Name: name, Description: name, Parameters: json.RawMessage(params), Source: "test"}}
}

const objSchema = `{"type":"object"}`

func TestRegisterNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"time", true},
		{"web_fetch2", true},
		{"a" + strings.Repeat("b", 63), true},
		{"a" + strings.Repeat("b", 64), false},
		{"", false},
		{"Time", false},
		{"2fa", false},
		{"_x", false},
		{"web-fetch", false},
		{"web.fetch", false},
		{"wéb", false},
		{"a b", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			r := tools.New(tools.Options{})
			err := r.Register(newTool(tc.name, objSchema))
			if tc.ok && err != nil {
				t.Fatalf("Register: %v", err)
			}
			if !tc.ok {
				if !errors.Is(err, tools.ErrInvalidTool) {
					t.Fatalf("Register err = %v, want ErrInvalidTool", err)
				}
				if r.Len() != 0 {
					t.Fatalf("rejected tool was registered")
				}
			}
		})
	}
}

func TestRegisterSchemas(t *testing.T) {
	tests := []struct {
		name    string
		params  string
		wantErr string // substring; "" means accepted
	}{
		{"empty object schema", `{"type":"object","properties":{}}`, ""},
		{"nested", `{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"}}},"required":["a"]}`, ""},
		{"internal ref", `{"type":"object","$defs":{"n":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/n"}}}`, ""},
		{"not json", `{"type":`, "not valid JSON"},
		{"array", `[]`, "must be a JSON object, got array"},
		{"boolean schema", `true`, "must be a JSON object, got boolean"},
		{"no type", `{"properties":{}}`, `"type": "object"`},
		{"string type", `{"type":"string"}`, `got "string"`},
		{"unknown type", `{"type":"object","properties":{"a":{"type":"wat"}}}`, "properties/a/type"},
		{"negative minLength", `{"type":"object","properties":{"a":{"type":"string","minLength":-1}}}`, "minLength"},
		{"bad pattern", `{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`, "pattern"},
		{"remote ref", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`, "not allowed"},
		{"file ref", `{"type":"object","properties":{"a":{"$ref":"file:///etc/passwd"}}}`, "not allowed"},
		{"dangling ref", `{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`, "missing"},
		{"trailing data", `{"type":"object"} {}`, "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tools.New(tools.Options{})
			err := r.Register(newTool("t", tc.params))
			t.Logf("Register: %v", err)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if !errors.Is(err, tools.ErrInvalidSchema) {
				t.Fatalf("Register err = %v, want ErrInvalidSchema", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Register err = %q, want it to mention %q", err, tc.wantErr)
			}
			if _, ok := r.Get("t"); ok {
				t.Fatal("tool with a bad schema was registered")
			}
		})
	}
}

func TestRegisterRejects(t *testing.T) {
	r := tools.New(tools.Options{})
	if err := r.Register(nil); !errors.Is(err, tools.ErrInvalidTool) {
		t.Fatalf("Register(nil) = %v, want ErrInvalidTool", err)
	}
	neg := newTool("slow", objSchema)
	neg.info.Timeout = -1
	if err := r.Register(neg); !errors.Is(err, tools.ErrInvalidTool) {
		t.Fatalf("negative timeout: err = %v, want ErrInvalidTool", err)
	}
	if err := r.Register(newTool("dup", objSchema)); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(newTool("dup", objSchema)); !errors.Is(err, tools.ErrDuplicate) {
		t.Fatalf("duplicate: err = %v, want ErrDuplicate", err)
	}
}

func TestNoParametersMeansEmptyObject(t *testing.T) {
	r := tools.New(tools.Options{})
	if err := r.Register(newTool("bare", "")); err != nil {
		t.Fatal(err)
	}
	info, ok := r.Info("bare")
	if !ok {
		t.Fatal("Info: not found")
	}
	if string(info.Parameters) != `{"type":"object","properties":{}}` {
		t.Fatalf("Parameters = %s", info.Parameters)
	}
	res, err := r.Execute(context.Background(), "bare", engine.ToolInvocation{})
	if err != nil || res.IsError {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
}

func TestListSpecsSorted(t *testing.T) {
	r := tools.New(tools.Options{})
	for _, n := range []string{"zeta", "alpha", "mid"} {
		if err := r.Register(newTool(n, objSchema)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tl := range builtin.Tools(nil) {
		if err := r.Register(tl); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"alpha", "echo", "mid", "time", "zeta"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	var listed, specs []string
	for _, i := range r.List() {
		listed = append(listed, i.Name)
	}
	for _, s := range r.Specs() {
		specs = append(specs, s.Name)
		if len(s.Parameters) == 0 || s.Description == "" {
			t.Errorf("spec %s lacks description or parameters", s.Name)
		}
	}
	if !slices.Equal(listed, want) || !slices.Equal(specs, want) {
		t.Fatalf("List = %v, Specs = %v, want %v", listed, specs, want)
	}
}

func TestInfoIsSnapshot(t *testing.T) {
	r := tools.New(tools.Options{})
	tl := newTool("snap", objSchema)
	if err := r.Register(tl); err != nil {
		t.Fatal(err)
	}
	tl.info.Description = "changed"
	tl.info.Parameters[0] = '!' // mutate the caller's bytes
	info, _ := r.Info("snap")
	if info.Description != "snap" || string(info.Parameters) != objSchema {
		t.Fatalf("registry info changed with the tool: %+v", info)
	}
}

func TestReplaceAndUnregister(t *testing.T) {
	ctx := context.Background()
	r := tools.New(tools.Options{})
	v1 := newTool("w", objSchema)
	v1.info.Source = "wasm"
	v1.fn = func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		return engine.ToolResult{Content: "v1"}, nil
	}
	if err := r.Replace(v1); err != nil { // Replace of an absent tool registers it
		t.Fatal(err)
	}
	v2 := newTool("w", `{"type":"object","required":["x"]}`)
	v2.info.Source = "wasm"
	v2.fn = func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		return engine.ToolResult{Content: "v2"}, nil
	}
	if err := r.Replace(v2); err != nil {
		t.Fatal(err)
	}
	res, err := r.Execute(ctx, "w", engine.ToolInvocation{Args: json.RawMessage(`{"x":1}`)})
	if err != nil || res.Content != "v2" {
		t.Fatalf("after Replace: %+v, %v", res, err)
	}
	if res, _ := r.Execute(ctx, "w", engine.ToolInvocation{}); !res.IsError {
		t.Fatalf("new schema not enforced: %+v", res)
	}

	bad := newTool("w", `{"type":"string"}`)
	bad.info.Source = "wasm"
	if err := r.Replace(bad); !errors.Is(err, tools.ErrInvalidSchema) {
		t.Fatalf("Replace with bad schema = %v", err)
	}
	if res, _ := r.Execute(ctx, "w", engine.ToolInvocation{Args: json.RawMessage(`{"x":1}`)}); res.Content != "v2" {
		t.Fatalf("failed Replace changed the tool: %+v", res)
	}

	if err := r.Register(builtin.NewEcho()); err != nil {
		t.Fatal(err)
	}
	hijack := newTool("echo", objSchema)
	hijack.info.Source = "wasm"
	if err := r.Replace(hijack); !errors.Is(err, tools.ErrSourceMismatch) {
		t.Fatalf("wasm replacing builtin: err = %v, want ErrSourceMismatch", err)
	}

	if !r.Unregister("w") {
		t.Fatal("Unregister(w) = false")
	}
	if r.Unregister("w") {
		t.Fatal("second Unregister(w) = true")
	}
	if _, ok := r.Get("w"); ok {
		t.Fatal("Get after Unregister found the tool")
	}
	if got := r.Names(); !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("Names = %v", got)
	}
}

func TestReplaceWhileRunning(t *testing.T) {
	r := tools.New(tools.Options{})
	started, release := make(chan struct{}), make(chan struct{})
	old := newTool("w", objSchema)
	old.fn = func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		close(started)
		<-release
		return engine.ToolResult{Content: "old"}, nil
	}
	if err := r.Register(old); err != nil {
		t.Fatal(err)
	}
	done := make(chan engine.ToolResult)
	go func() {
		res, _ := r.Execute(context.Background(), "w", engine.ToolInvocation{})
		done <- res
	}()
	<-started
	if err := r.Replace(newTool("w", objSchema)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if res := <-done; res.Content != "old" {
		t.Fatalf("running call result = %q, want old", res.Content)
	}
	res, _ := r.Execute(context.Background(), "w", engine.ToolInvocation{})
	if res.Content != "ok:{}" {
		t.Fatalf("new call result = %q, want the new tool's", res.Content)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := tools.New(tools.Options{})
	if err := r.Register(builtin.NewEcho()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("t%d", i)
			for range 20 {
				if err := r.Replace(newTool(name, objSchema)); err != nil {
					t.Error(err)
					return
				}
				_ = r.Specs()
				r.Unregister(name)
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 20 {
				text := fmt.Sprintf("m%d-%d", i, j)
				res, err := r.Execute(context.Background(), "echo", engine.ToolInvocation{Args: json.RawMessage(`{"text":"` + text + `"}`)})
				if err != nil || res.Content != text {
					t.Errorf("Execute = %+v, %v", res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := r.Names(); !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("Names after churn = %v", got)
	}
}
