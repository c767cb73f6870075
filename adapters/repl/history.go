package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultHistoryLen bounds the persisted input history.
const DefaultHistoryLen = 1000

// history is the console's line history for x/term (term.History): newest
// entry at index 0, bounded, and persisted to a file readable only by the
// owner (mode 0600) after every added line, so a crash loses nothing.
type history struct {
	mu      sync.Mutex
	path    string // "" keeps the history in memory only
	max     int
	entries []string // oldest first
	log     *slog.Logger
	failed  bool // a save failed; logged once
}

// loadHistory reads the history file; a missing file is an empty history.
func loadHistory(path string, maxLen int, log *slog.Logger) (*history, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &history{path: path, max: maxLen, log: log}
	if path == "" {
		return h, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repl: open history: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" {
			h.entries = append(h.entries, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("repl: read history %s: %w", path, err)
	}
	if n := len(h.entries); n > h.max {
		h.entries = append([]string(nil), h.entries[n-h.max:]...)
	}
	return h, nil
}

// Add implements term.History: blank lines and repeats of the newest
// entry are not recorded.
func (h *history) Add(entry string) {
	entry = strings.NewReplacer("\r", " ", "\n", " ").Replace(entry)
	if strings.TrimSpace(entry) == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.entries); n > 0 && h.entries[n-1] == entry {
		return
	}
	h.entries = append(h.entries, entry)
	if n := len(h.entries); n > h.max {
		h.entries = append(h.entries[:0], h.entries[n-h.max:]...)
	}
	if err := h.saveLocked(); err != nil && !h.failed {
		h.failed = true
		h.log.Warn("repl: history not saved", "path", h.path, "err", err)
	}
}

// Len implements term.History.
func (h *history) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.entries)
}

// At implements term.History: index 0 is the newest entry.
func (h *history) At(idx int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entries[len(h.entries)-1-idx]
}

// saveLocked replaces the file atomically (temporary file and rename) with
// mode 0600, whatever the mode of an older file was.
func (h *history) saveLocked() error {
	if h.path == "" {
		return nil
	}
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create history dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".history-*")
	if err != nil {
		return fmt.Errorf("create temp history: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod history: %w", err)
	}
	w := bufio.NewWriter(tmp)
	for _, e := range h.entries {
		w.WriteString(e)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write history: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close history: %w", err)
	}
	if err := os.Rename(tmp.Name(), h.path); err != nil {
		return fmt.Errorf("replace history: %w", err)
	}
	return nil
}
