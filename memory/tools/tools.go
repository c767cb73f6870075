// Package tools holds the agent's memory tools as engine.Tool values:
// memory_search, memory_read, memory_write, memory_tree and memory_delete.
// Every call acts on the workspace of the calling user
// (ToolInvocation.UserID) and no other: there is no argument naming a
// user. memory_write and memory_delete are Sensitive, so the safety layer
// asks the owner before they run in a turn tainted by untrusted content
// (a rewritten SOUL.md must never come from a web page).
//
// Register them with the composition root's registry:
//
//	for _, t := range tools.All(mem) {
//		if err := registry.Register(t); err != nil { ... }
//	}
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory"
)

// Source is the ToolInfo.Source of the memory tools.
const Source = "builtin"

// Memory is what the tools need of *memory.Memory.
type Memory interface {
	Search(ctx context.Context, userID, query string, o memory.SearchOptions) (memory.SearchResult, error)
	Read(ctx context.Context, userID, path string) (engine.Document, error)
	Version(ctx context.Context, userID, path string, version int64) (engine.DocumentVersion, error)
	Write(ctx context.Context, userID, path, content string) (engine.Document, error)
	Append(ctx context.Context, userID, path, content string) (engine.Document, error)
	Delete(ctx context.Context, userID, path string) error
	Tree(ctx context.Context, userID, folder string) ([]engine.Document, error)
}

// All returns the five memory tools over m.
func All(m Memory) []engine.Tool {
	return []engine.Tool{Search{m}, Read{m}, Write{m}, Tree{m}, Delete{m}}
}

// fail is a result the model can read and act on.
func fail(tool string, err error) (engine.ToolResult, error) {
	msg := err.Error()
	switch {
	case errors.Is(err, engine.ErrNotFound):
		msg = "not found: " + msg + " (use memory_tree to see the files)"
	case errors.Is(err, engine.ErrTooLarge):
		msg += " (split the content into several files)"
	}
	return engine.ToolResult{Content: tool + ": " + msg, IsError: true, Source: "memory"}, nil
}

func decode(tool string, raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: invalid arguments: %v", tool, err)
	}
	return nil
}

func noUser(tool string, inv engine.ToolInvocation) (engine.ToolResult, bool) {
	if inv.UserID == "" {
		return engine.ToolResult{Content: tool + ": no user for this call", IsError: true}, true
	}
	return engine.ToolResult{}, false
}

// Search is memory_search.
type Search struct{ M Memory }

const searchParams = `{
  "type": "object",
  "properties": {
    "query": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "What to look for, in plain words."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "Most results (default 8)."},
    "folder": {"type": "string", "maxLength": 512, "description": "Search only under this folder, like \"notes\" or \"daily\"."}
  },
  "required": ["query"],
  "additionalProperties": false
}`

// Info implements engine.Tool.
func (Search) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name: "memory_search",
		Description: "Search the user's memory workspace (notes, MEMORY.md, daily notes, identity files) by meaning and keywords. " +
			"Returns the best matching passages with their file path, best first.",
		Parameters: json.RawMessage(searchParams), Parallel: true, Source: Source,
	}
}

// Execute implements engine.Tool.
func (t Search) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if r, bad := noUser("memory_search", inv); bad {
		return r, nil
	}
	var a struct {
		Query  string `json:"query"`
		Limit  int    `json:"limit"`
		Folder string `json:"folder"`
	}
	if err := decode("memory_search", inv.Args, &a); err != nil {
		return fail("memory_search", err)
	}
	if a.Limit == 0 {
		a.Limit = 8
	}
	res, err := t.M.Search(ctx, inv.UserID, a.Query, memory.SearchOptions{Limit: a.Limit, Folder: a.Folder})
	if err != nil {
		return fail("memory_search", err)
	}
	type hit struct {
		Path    string  `json:"path"`
		Heading string  `json:"heading,omitempty"`
		Text    string  `json:"text"`
		Rank    int     `json:"rank"`
		Score   float64 `json:"score"`
		Found   string  `json:"found_by"`
	}
	out := struct {
		Results []hit  `json:"results"`
		Note    string `json:"note,omitempty"`
	}{Results: []hit{}, Note: res.Note}
	for _, h := range res.Hits {
		out.Results = append(out.Results, hit{h.Chunk.Path, h.Chunk.Heading, h.Chunk.Text, h.Rank, h.Score, h.Methods()})
	}
	if len(out.Results) == 0 && out.Note == "" {
		out.Note = "nothing matched"
	}
	b, err := json.Marshal(out)
	if err != nil {
		return engine.ToolResult{}, err
	}
	return engine.ToolResult{Content: string(b), Source: "memory"}, nil
}

// Read is memory_read.
type Read struct{ M Memory }

const readParams = `{
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1, "maxLength": 512, "description": "The file, like \"notes/trip.md\" or \"MEMORY.md\"."},
    "version": {"type": "integer", "minimum": 1, "description": "An earlier version of the file (see memory_tree), instead of the current one."}
  },
  "required": ["path"],
  "additionalProperties": false
}`

// Info implements engine.Tool.
func (Read) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name:        "memory_read",
		Description: "Read a file of the user's memory workspace, or an earlier version of it.",
		Parameters:  json.RawMessage(readParams), Parallel: true, Source: Source,
	}
}

// Execute implements engine.Tool.
func (t Read) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if r, bad := noUser("memory_read", inv); bad {
		return r, nil
	}
	var a struct {
		Path    string `json:"path"`
		Version int64  `json:"version"`
	}
	if err := decode("memory_read", inv.Args, &a); err != nil {
		return fail("memory_read", err)
	}
	if a.Version > 0 {
		v, err := t.M.Version(ctx, inv.UserID, a.Path, a.Version)
		if err != nil {
			return fail("memory_read", err)
		}
		return engine.ToolResult{Content: fmt.Sprintf("[%s, version %d of %s]\n%s", v.Path, v.Version,
			v.CreatedAt.Format("2006-01-02 15:04 MST"), v.Content), Source: "memory"}, nil
	}
	d, err := t.M.Read(ctx, inv.UserID, a.Path)
	if err != nil {
		return fail("memory_read", err)
	}
	content := d.Content
	if content == "" {
		content = "(empty file)"
	}
	return engine.ToolResult{Content: content, Source: "memory"}, nil
}

// Write is memory_write.
type Write struct{ M Memory }

const writeParams = `{
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1, "maxLength": 512, "description": "The file, like \"USER.md\", \"MEMORY.md\", \"notes/trip.md\" or \"daily/2026-11-24.md\"."},
    "content": {"type": "string", "description": "The text to write (Markdown)."},
    "mode": {"type": "string", "enum": ["write", "append"], "description": "write replaces the file (its old content is kept as a version); append adds to its end (default write)."}
  },
  "required": ["path", "content"],
  "additionalProperties": false
}`

// Info implements engine.Tool.
func (Write) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name: "memory_write",
		Description: "Write or append to a file of the user's memory workspace, creating it if needed. " +
			"Use it to remember facts (USER.md), curated notes (MEMORY.md) and what happened today (append to daily/YYYY-MM-DD.md).",
		Parameters: json.RawMessage(writeParams), Sensitive: true, Source: Source,
	}
}

// Execute implements engine.Tool.
func (t Write) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if r, bad := noUser("memory_write", inv); bad {
		return r, nil
	}
	var a struct {
		Path    string `json:"path"`
		Content string `json:"content"`
		Mode    string `json:"mode"`
	}
	if err := decode("memory_write", inv.Args, &a); err != nil {
		return fail("memory_write", err)
	}
	var d engine.Document
	var err error
	switch a.Mode {
	case "", "write":
		a.Mode = "write"
		d, err = t.M.Write(ctx, inv.UserID, a.Path, a.Content)
	case "append":
		d, err = t.M.Append(ctx, inv.UserID, a.Path, a.Content)
	default:
		return fail("memory_write", fmt.Errorf(`mode must be "write" or "append", got %q`, a.Mode))
	}
	if err != nil {
		return fail("memory_write", err)
	}
	b, _ := json.Marshal(map[string]any{"path": d.Path, "mode": a.Mode, "version": d.Version, "size": d.Size})
	return engine.ToolResult{Content: string(b), Source: "memory"}, nil
}

// Tree is memory_tree.
type Tree struct{ M Memory }

const treeParams = `{
  "type": "object",
  "properties": {
    "folder": {"type": "string", "maxLength": 512, "description": "List only this folder (default: the whole workspace)."}
  },
  "additionalProperties": false
}`

// Info implements engine.Tool.
func (Tree) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name:        "memory_tree",
		Description: "List the files of the user's memory workspace with their sizes.",
		Parameters:  json.RawMessage(treeParams), Parallel: true, Source: Source,
	}
}

// Execute implements engine.Tool.
func (t Tree) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if r, bad := noUser("memory_tree", inv); bad {
		return r, nil
	}
	var a struct {
		Folder string `json:"folder"`
	}
	if err := decode("memory_tree", inv.Args, &a); err != nil {
		return fail("memory_tree", err)
	}
	docs, err := t.M.Tree(ctx, inv.UserID, a.Folder)
	if err != nil {
		return fail("memory_tree", err)
	}
	if len(docs) == 0 {
		where := "the workspace"
		if strings.TrimSpace(a.Folder) != "" {
			where = a.Folder
		}
		return engine.ToolResult{Content: where + " is empty", Source: "memory"}, nil
	}
	return engine.ToolResult{Content: memory.FormatTree(docs), Source: "memory"}, nil
}

// Delete is memory_delete.
type Delete struct{ M Memory }

const deleteParams = `{
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1, "maxLength": 512, "description": "The file to delete, with its earlier versions."}
  },
  "required": ["path"],
  "additionalProperties": false
}`

// Info implements engine.Tool.
func (Delete) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name:        "memory_delete",
		Description: "Delete a file of the user's memory workspace, with its earlier versions. This cannot be undone.",
		Parameters:  json.RawMessage(deleteParams), Sensitive: true, Source: Source,
	}
}

// Execute implements engine.Tool.
func (t Delete) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	if r, bad := noUser("memory_delete", inv); bad {
		return r, nil
	}
	var a struct {
		Path string `json:"path"`
	}
	if err := decode("memory_delete", inv.Args, &a); err != nil {
		return fail("memory_delete", err)
	}
	if err := t.M.Delete(ctx, inv.UserID, a.Path); err != nil {
		return fail("memory_delete", err)
	}
	return engine.ToolResult{Content: "deleted " + strings.TrimSpace(a.Path), Source: "memory"}, nil
}
