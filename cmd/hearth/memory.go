package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/hearthbot/hearth/bot"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory"
)

// memoryUsage is the synopsis of `hearth memory`.
const memoryUsage = "usage: hearth memory ls [FOLDER] | cat PATH | search QUERY | import DIR | export DIR | status  [--user ID|NAME]"

// importExtensions are the files `hearth memory import` takes.
var importExtensions = map[string]bool{".md": true, ".markdown": true, ".txt": true}

// runMemory inspects and moves a user's memory workspace (the owner's
// unless --user says otherwise).
func runMemory(ctx context.Context, e env) error {
	var user string
	var limit int
	var version int64
	var force, asJSON bool
	b, args, err := openAdmin(ctx, e, "memory", func(fs *pflag.FlagSet) {
		fs.StringVar(&user, "user", "", "whose memory (id or name; default the owner)")
		fs.IntVar(&limit, "limit", 10, "search: most hits")
		fs.Int64Var(&version, "version", 0, "cat: an earlier version of the file")
		fs.BoolVar(&force, "force", false, "export: write into a directory that is not empty, replacing files")
		fs.BoolVar(&asJSON, "json", false, "search, status: print JSON")
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) == 0 {
		return usageError{memoryUsage}
	}
	sub, args := args[0], args[1:]
	one := func(what string) (string, error) {
		if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
			return "", usageError{"usage: hearth memory " + sub + " " + what}
		}
		return args[0], nil
	}
	if limit < 1 || limit > 100 {
		return usageError{fmt.Sprintf("--limit must be between 1 and 100, got %d", limit)}
	}
	mem, err := b.NewMemory()
	if err != nil {
		return err
	}
	u, err := b.MemoryUser(ctx, user)
	if err != nil {
		return err
	}
	switch sub {
	case "ls", "tree":
		if len(args) > 1 {
			return usageError{"usage: hearth memory ls [FOLDER]"}
		}
		folder := ""
		if len(args) == 1 {
			folder = args[0]
		}
		docs, err := mem.Tree(ctx, u.ID, folder)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			fmt.Fprintf(e.stdout, "No documents in the memory of %s%s.\n", u.Name, under(folder))
			return nil
		}
		_, err = fmt.Fprint(e.stdout, memory.FormatTree(docs))
		return err
	case "cat":
		path, err := one("PATH")
		if err != nil {
			return err
		}
		if version > 0 {
			v, err := mem.Version(ctx, u.ID, path, version)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, v.Content)
			return err
		}
		d, err := mem.Read(ctx, u.ID, path)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(e.stdout, d.Content)
		return err
	case "search":
		if len(args) == 0 {
			return usageError{"usage: hearth memory search QUERY"}
		}
		return memorySearch(ctx, e, mem, u, strings.Join(args, " "), limit, asJSON)
	case "import":
		dir, err := one("DIR")
		if err != nil {
			return err
		}
		return memoryImport(ctx, e, mem, u, dir)
	case "export":
		dir, err := one("DIR")
		if err != nil {
			return err
		}
		return memoryExport(ctx, e, mem, u, dir, force)
	case "status":
		if len(args) != 0 {
			return usageError{"usage: hearth memory status"}
		}
		return memoryStatus(ctx, e, b, mem, asJSON)
	}
	return usageError{"unknown memory command " + sub + " (" + memoryUsage[len("usage: hearth memory "):] + ")"}
}

func under(folder string) string {
	if folder == "" {
		return ""
	}
	return " under " + folder
}

// memorySearch prints one hit per line, best first: rank, path (and
// heading), the method that found it, the fused score and a snippet.
func memorySearch(ctx context.Context, e env, mem *memory.Memory, u engine.User, query string, limit int, asJSON bool) error {
	_ = mem.Probe(ctx) // without an answering provider the search says so
	res, err := mem.Search(ctx, u.ID, query, memory.SearchOptions{Limit: limit})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if res.Note != "" {
		fmt.Fprintln(e.stderr, "note:", res.Note)
	}
	if len(res.Hits) == 0 {
		fmt.Fprintln(e.stderr, "no matches")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, h := range res.Hits {
		where := h.Chunk.Path
		if h.Chunk.Heading != "" {
			where += " § " + oneLine(h.Chunk.Heading, 60)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4f\t%s\n", h.Rank, where, h.Methods(), h.Score, oneLine(strings.Join(strings.Fields(h.Chunk.Text), " "), 80))
	}
	return tw.Flush()
}

// memoryImport writes every Markdown or text file under dir into the
// user's workspace at its relative path, then indexes them. Files that
// cannot be stored (too large, not UTF-8, a path the workspace refuses,
// symbolic links) are reported and skipped; the others are kept.
func memoryImport(ctx context.Context, e env, mem *memory.Memory, u engine.User, dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	var written, unchanged, refused int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !importExtensions[strings.ToLower(filepath.Ext(name))] {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			fmt.Fprintf(e.stderr, "skipped %s: not a regular file\n", rel)
			refused++
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if old, err := mem.Read(ctx, u.ID, rel); err == nil && old.Content == string(data) {
			unchanged++
			return nil
		}
		if _, err := mem.Write(ctx, u.ID, rel, string(data)); err != nil {
			fmt.Fprintf(e.stderr, "skipped %s: %v\n", rel, err)
			refused++
			return nil
		}
		written++
		return nil
	})
	if err != nil {
		return err
	}
	if err := mem.IndexNow(ctx, u.ID); err != nil {
		fmt.Fprintf(e.stderr, "indexing: %v (a running Hearth finishes it in the background)\n", err)
	}
	fmt.Fprintf(e.stdout, "Imported %d files into the memory of %s (%d unchanged, %d skipped).\n", written, u.Name, unchanged, refused)
	if st, err := mem.Status(ctx); err == nil && !st.Vector {
		fmt.Fprintln(e.stdout, "Indexed for full-text search; "+st.Note+".")
	}
	if refused > 0 {
		return fmt.Errorf("%d files were skipped", refused)
	}
	return nil
}

// memoryExport writes every document of the user's workspace under dir
// (directories 0700, files 0600). It refuses a directory that is not
// empty unless force is set.
func memoryExport(ctx context.Context, e env, mem *memory.Memory, u engine.User, dir string, force bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 && !force {
		return fmt.Errorf("%s is not empty (use --force to write into it, replacing files of the same names)", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	docs, err := mem.Tree(ctx, u.ID, "")
	if err != nil {
		return err
	}
	for _, d := range docs {
		if !filepath.IsLocal(filepath.FromSlash(d.Path)) {
			return fmt.Errorf("refusing to export %q: not a local path", d.Path)
		}
		full, err := mem.Read(ctx, u.ID, d.Path)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(d.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(target, []byte(full.Content), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Exported %d files of the memory of %s to %s.\n", len(docs), u.Name, dir)
	return nil
}

// memoryStatus prints the search mode, the counts and the doctor's
// memory checks.
func memoryStatus(ctx context.Context, e env, b *bot.Bot, mem *memory.Memory, asJSON bool) error {
	_ = mem.Probe(ctx)
	st, err := mem.Status(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	mode := "full text only"
	if st.Vector {
		mode = fmt.Sprintf("hybrid (full text + %s, %d dimensions), RRF k=%d", st.Space.Model, st.Space.Dimensions, st.RRFK)
	}
	fmt.Fprintf(e.stdout, "search: %s\ndocuments: %d (%d to index), versions kept: %d, chunks: %d (%d with vectors), %d bytes\n",
		mode, st.Stats.Documents, st.Stats.DocumentsToIndex, st.Stats.Versions, st.Stats.Chunks, st.Stats.ChunksEmbedded, st.Stats.Bytes)
	bot.PrintChecks(e.stdout, b.MemoryDoctor(ctx))
	return nil
}
