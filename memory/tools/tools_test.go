package tools_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	etools "github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/memory"
	"github.com/hearthbot/hearth/memory/sqlite"
	"github.com/hearthbot/hearth/memory/tools"
)

func setup(t *testing.T) (*etools.Registry, *memory.Memory) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, id := range []string{"u1", "u2"} {
		if err := st.CreateUser(ctx, engine.User{ID: id, Name: id, Role: engine.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := memory.New(memory.Options{Store: st, NoSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	r := etools.New(etools.Options{})
	for _, tl := range tools.All(m) {
		if err := r.Register(tl); err != nil {
			t.Fatalf("Register %s: %v", tl.Info().Name, err)
		}
	}
	return r, m
}

func call(t *testing.T, r *etools.Registry, user, name, args string) engine.ToolResult {
	t.Helper()
	res, err := r.Execute(context.Background(), name, engine.ToolInvocation{UserID: user, Args: json.RawMessage(args)})
	if err != nil {
		t.Fatalf("%s %s: %v", name, args, err)
	}
	return res
}

func TestInfo(t *testing.T) {
	r, m := setup(t)
	want := map[string]bool{"memory_search": false, "memory_read": false, "memory_write": true, "memory_tree": false, "memory_delete": true}
	for _, tl := range tools.All(m) {
		info := tl.Info()
		sensitive, ok := want[info.Name]
		if !ok || info.Sensitive != sensitive || info.Description == "" || info.NeedsApproval {
			t.Errorf("%s: %+v", info.Name, info)
		}
	}
	if got := strings.Join(r.Names(), ","); got != "memory_delete,memory_read,memory_search,memory_tree,memory_write" {
		t.Errorf("Names = %s", got)
	}
}

func TestToolsEndToEnd(t *testing.T) {
	r, m := setup(t)
	res := call(t, r, "u1", "memory_write", `{"path":"USER.md","content":"Sister: Ana\n"}`)
	if res.IsError || !strings.Contains(res.Content, `"version":1`) {
		t.Fatalf("write = %+v", res)
	}
	res = call(t, r, "u1", "memory_write", `{"path":"USER.md","content":"Lives in Porto\n","mode":"append"}`)
	if res.IsError || !strings.Contains(res.Content, `"mode":"append"`) {
		t.Fatalf("append = %+v", res)
	}
	call(t, r, "u1", "memory_write", `{"path":"USER.md","content":"Sister: Ana (older)\n"}`)
	if res := call(t, r, "u1", "memory_read", `{"path":"USER.md"}`); res.Content != "Sister: Ana (older)\n" {
		t.Errorf("read = %+v", res)
	}
	if res := call(t, r, "u1", "memory_read", `{"path":"USER.md","version":2}`); !strings.Contains(res.Content, "Sister: Ana\nLives in Porto") {
		t.Errorf("read version 2 = %+v", res)
	}
	if err := m.IndexNow(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	res = call(t, r, "u1", "memory_search", `{"query":"who is the sister?"}`)
	var out struct {
		Results []struct {
			Path  string `json:"path"`
			Found string `json:"found_by"`
			Rank  int    `json:"rank"`
		} `json:"results"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(res.Content), &out); err != nil || len(out.Results) != 1 || out.Results[0].Path != "USER.md" ||
		out.Results[0].Found != "fts" || out.Results[0].Rank != 1 || !strings.Contains(out.Note, "full-text") {
		t.Fatalf("search = %s (%v)", res.Content, err)
	}
	if res := call(t, r, "u1", "memory_tree", `{}`); !strings.Contains(res.Content, "USER.md") {
		t.Errorf("tree = %+v", res)
	}
	if res := call(t, r, "u1", "memory_tree", `{"folder":"notes"}`); res.Content != "notes is empty" {
		t.Errorf("tree of an empty folder = %+v", res)
	}
	// The other user sees and touches nothing of u1's.
	if res := call(t, r, "u2", "memory_read", `{"path":"USER.md"}`); !res.IsError || !strings.Contains(res.Content, "not found") {
		t.Errorf("u2 reads u1's USER.md: %+v", res)
	}
	if res := call(t, r, "u2", "memory_search", `{"query":"sister Ana"}`); strings.Contains(res.Content, "USER.md") {
		t.Errorf("u2 finds u1's notes: %s", res.Content)
	}
	if res := call(t, r, "u2", "memory_delete", `{"path":"USER.md"}`); !res.IsError {
		t.Errorf("u2 deleted u1's file: %+v", res)
	}
	if res := call(t, r, "u2", "memory_tree", `{}`); res.Content != "the workspace is empty" {
		t.Errorf("u2 tree = %+v", res)
	}
	if res := call(t, r, "u1", "memory_delete", `{"path":"USER.md"}`); res.IsError || res.Content != "deleted USER.md" {
		t.Errorf("delete = %+v", res)
	}
}

func TestBadCallsAreReadable(t *testing.T) {
	r, _ := setup(t)
	tests := []struct {
		tool, args, want string
	}{
		{"memory_write", `{"path":"../../etc/passwd","content":"x"}`, `".." is not allowed`},
		{"memory_write", `{"path":"/abs.md","content":"x"}`, "absolute"},
		{"memory_write", `{"path":"a.md","content":"x","mode":"replace"}`, "must be one of 'write', 'append'"},
		{"memory_write", `{"path":"a.md"}`, "content"},
		{"memory_write", `{"path":"a.md","content":"x","user":"u2"}`, "additional properties"},
		{"memory_read", `{"path":"nope.md"}`, "not found"},
		{"memory_read", `{"path":"a\u0000b"}`, "NUL"},
		{"memory_search", `{"query":""}`, "minLength"},
		{"memory_search", `{"query":"x","folder":"../.."}`, `".."`},
		{"memory_delete", `{}`, "path"},
	}
	for _, tc := range tests {
		res := call(t, r, "u1", tc.tool, tc.args)
		if !res.IsError || !strings.Contains(res.Content, tc.want) {
			t.Errorf("%s %s = %+v, want an error mentioning %q", tc.tool, tc.args, res, tc.want)
		}
	}
	res, err := r.Execute(context.Background(), "memory_tree", engine.ToolInvocation{Args: json.RawMessage(`{}`)})
	if err != nil || !res.IsError {
		t.Errorf("a call without a user = %+v, %v", res, err)
	}
}
