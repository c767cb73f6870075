package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
)

// Read returns a document of the user's workspace with its content.
func (m *Memory) Read(ctx context.Context, userID, path string) (engine.Document, error) {
	p, err := CleanPath(path)
	if err != nil {
		return engine.Document{}, err
	}
	return m.store.GetDocument(ctx, userID, p)
}

// Write creates the document or replaces its content (the old content is
// kept as a version) and schedules re-indexing.
func (m *Memory) Write(ctx context.Context, userID, path, content string) (engine.Document, error) {
	return m.write(ctx, userID, path, content, engine.WriteOverwrite)
}

// Create creates a document; engine.ErrConflict when it exists.
func (m *Memory) Create(ctx context.Context, userID, path, content string) (engine.Document, error) {
	return m.write(ctx, userID, path, content, engine.WriteCreate)
}

// Append adds content to the end of the document, creating it when
// missing, and schedules re-indexing.
func (m *Memory) Append(ctx context.Context, userID, path, content string) (engine.Document, error) {
	return m.write(ctx, userID, path, content, engine.WriteAppend)
}

func (m *Memory) write(ctx context.Context, userID, path, content string, mode engine.WriteMode) (engine.Document, error) {
	if userID == "" {
		return engine.Document{}, fmt.Errorf("memory: %s %q: no user", mode, path)
	}
	p, err := CleanPath(path)
	if err != nil {
		return engine.Document{}, err
	}
	if err := CheckContent(content, m.o.MaxDocumentBytes); err != nil {
		return engine.Document{}, fmt.Errorf("%s %s: %w", mode, p, err)
	}
	d, err := m.store.WriteDocument(ctx, engine.DocumentWrite{
		UserID: userID, Path: p, Content: content, Mode: mode,
		MaxSize: m.o.MaxDocumentBytes, KeepVersions: m.o.KeepVersions, At: m.o.Now(),
	})
	if err != nil {
		return engine.Document{}, err
	}
	if d.IndexedVersion != d.Version {
		m.idx.notify(userID)
	}
	return d, nil
}

// Delete removes a document with its versions and search index entries.
func (m *Memory) Delete(ctx context.Context, userID, path string) error {
	p, err := CleanPath(path)
	if err != nil {
		return err
	}
	return m.store.DeleteDocument(ctx, userID, p)
}

// Tree lists the user's documents under a folder ("" for all), by path,
// without content.
func (m *Memory) Tree(ctx context.Context, userID, folder string) ([]engine.Document, error) {
	prefix, err := CleanFolder(folder)
	if err != nil {
		return nil, err
	}
	docs, err := m.store.ListDocuments(ctx, userID, prefix)
	if err != nil {
		return nil, err
	}
	if prefix != "" && len(docs) == 0 {
		// "notes/trip.md" given as a folder: show the file itself.
		if d, err := m.store.GetDocument(ctx, userID, strings.TrimSuffix(prefix, "/")); err == nil {
			d.Content = ""
			return []engine.Document{d}, nil
		}
	}
	return docs, nil
}

// Versions lists the kept versions of a document, newest first.
func (m *Memory) Versions(ctx context.Context, userID, path string) ([]engine.DocumentVersion, error) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, err
	}
	return m.store.ListVersions(ctx, userID, p)
}

// Version returns one kept version with its content.
func (m *Memory) Version(ctx context.Context, userID, path string, version int64) (engine.DocumentVersion, error) {
	p, err := CleanPath(path)
	if err != nil {
		return engine.DocumentVersion{}, err
	}
	return m.store.GetVersion(ctx, userID, p, version)
}

// FormatTree renders documents as an indented tree with sizes:
//
//	AGENTS.md  1.2 KB
//	notes/
//	  trip.md  310 B
func FormatTree(docs []engine.Document) string {
	var b strings.Builder
	var open []string // folders of the previous line
	for _, d := range docs {
		parts := strings.Split(d.Path, "/")
		dirs := parts[:len(parts)-1]
		common := 0
		for common < len(open) && common < len(dirs) && open[common] == dirs[common] {
			common++
		}
		for i := common; i < len(dirs); i++ {
			fmt.Fprintf(&b, "%s%s/\n", strings.Repeat("  ", i), dirs[i])
		}
		open = dirs
		fmt.Fprintf(&b, "%s%s  %s\n", strings.Repeat("  ", len(dirs)), parts[len(parts)-1], humanBytes(d.Size))
	}
	return b.String()
}

func humanBytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}
