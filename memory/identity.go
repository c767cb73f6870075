package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
)

// FileReport says what of one file went into the prompt.
type FileReport struct {
	Path string `json:"path"`
	// Chars is the file's length in characters; Shown how many entered
	// the prompt.
	Chars int `json:"chars"`
	Shown int `json:"shown"`
	// Missing: no such file. Skipped: left out on purpose (private file
	// in a group conversation, empty file).
	Missing bool   `json:"missing,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	// Truncated: cut by the per-file or the total cap (Reason says which).
	Truncated bool   `json:"truncated,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// PromptReport describes one assembly of the identity prompt.
type PromptReport struct {
	Files []FileReport `json:"files"`
	// Chars is the length of the section, in characters.
	Chars     int  `json:"chars"`
	Truncated bool `json:"truncated"`
	FileCap   int  `json:"file_cap"`
	TotalCap  int  `json:"total_cap"`
}

// Problems lists the truncations in words, for hearth doctor.
func (r PromptReport) Problems() []string {
	var out []string
	for _, f := range r.Files {
		if f.Truncated {
			out = append(out, fmt.Sprintf("%s: %s (%d of %d characters in the prompt)", f.Path, f.Reason, f.Shown, f.Chars))
		}
	}
	return out
}

// DailyPath is the path of a daily note for the day of t.
func DailyPath(t time.Time) string { return "daily/" + t.Format(time.DateOnly) + ".md" }

// userLocation is the user's timezone, or UTC.
func userLocation(u engine.User) *time.Location {
	if u.Timezone != "" {
		if loc, err := time.LoadLocation(u.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// promptFile is one file to place, in order.
type promptFile struct {
	path, title string
	private     bool
}

func promptFiles(now time.Time) []promptFile {
	var out []promptFile
	for _, f := range identityFiles {
		out = append(out, promptFile{f.Path, f.Title, f.Private})
	}
	out = append(out,
		promptFile{DailyPath(now), "today's notes", true},
		promptFile{DailyPath(now.AddDate(0, 0, -1)), "yesterday's notes", true})
	return out
}

// IdentityPrompt assembles the identity section of the system prompt for a
// user at now: AGENTS.md, SOUL.md, USER.md, IDENTITY.md, TOOLS.md,
// MEMORY.md, then today's and yesterday's daily notes (in the user's
// timezone). In group conversations MEMORY.md and the daily notes are left
// out. Each file is cut at FileChars characters and the whole at
// TotalChars; a cut says so in the prompt and in the report. A new user's
// empty workspace is seeded first.
func (m *Memory) IdentityPrompt(ctx context.Context, u engine.User, group bool, now time.Time) (string, PromptReport, error) {
	return m.identityPrompt(ctx, u, group, now, true)
}

func (m *Memory) identityPrompt(ctx context.Context, u engine.User, group bool, now time.Time, seed bool) (string, PromptReport, error) {
	rep := PromptReport{FileCap: m.o.FileChars, TotalCap: m.o.TotalChars}
	if u.ID == "" {
		return "", rep, errors.New("memory: identity prompt: no user")
	}
	if seed {
		if err := m.ensureSeeded(ctx, u.ID); err != nil {
			return "", rep, err
		}
	}
	now = now.In(userLocation(u))
	var b strings.Builder
	budget := m.o.TotalChars
	for _, f := range promptFiles(now) {
		fr := FileReport{Path: f.path}
		if group && f.private {
			fr.Skipped = "private: left out of group conversations"
			rep.Files = append(rep.Files, fr)
			continue
		}
		d, err := m.store.GetDocument(ctx, u.ID, f.path)
		if errors.Is(err, engine.ErrNotFound) {
			fr.Missing = true
			rep.Files = append(rep.Files, fr)
			continue
		}
		if err != nil {
			return "", rep, fmt.Errorf("memory: identity prompt: %w", err)
		}
		content := strings.TrimSpace(d.Content)
		fr.Chars = utf8.RuneCountInString(content)
		if fr.Chars == 0 {
			fr.Skipped = "empty"
			rep.Files = append(rep.Files, fr)
			continue
		}
		show := min(fr.Chars, m.o.FileChars)
		if show < fr.Chars {
			fr.Truncated, fr.Reason = true, fmt.Sprintf("longer than the per-file cap of %d characters", m.o.FileChars)
		}
		if show > budget {
			show = max(budget, 0)
			fr.Truncated, fr.Reason = true, fmt.Sprintf("the total cap of %d characters for identity files was reached", m.o.TotalChars)
		}
		fr.Shown = show
		budget -= show
		if b.Len() == 0 {
			b.WriteString("# Your memory workspace\nThese files are the user's and yours; read and change them with the memory tools.\n")
		}
		fmt.Fprintf(&b, "\n## %s (%s)\n", f.path, f.title)
		if show > 0 {
			b.WriteString(cutRunes(content, show))
			b.WriteString("\n")
		}
		if fr.Truncated {
			fmt.Fprintf(&b, "[%s was truncated: %d of %d characters shown, because it is %s. Read the rest with memory_read.]\n",
				f.path, show, fr.Chars, fr.Reason)
			m.warnTruncated(u.ID, fr)
		}
		rep.Files = append(rep.Files, fr)
	}
	text := b.String()
	rep.Chars = utf8.RuneCountInString(text)
	for _, f := range rep.Files {
		rep.Truncated = rep.Truncated || f.Truncated
	}
	return text, rep, nil
}

// CheckPrompt assembles the user's identity prompt as a direct
// conversation would see it now and reports what was cut. It writes
// nothing (an empty workspace is not seeded). hearth doctor calls it.
func (m *Memory) CheckPrompt(ctx context.Context, u engine.User) (PromptReport, error) {
	_, rep, err := m.identityPrompt(ctx, u, false, m.o.Now(), false)
	return rep, err
}

// warnTruncated logs a truncation once per user, file and size.
func (m *Memory) warnTruncated(userID string, fr FileReport) {
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d", userID, fr.Path, fr.Chars, fr.Shown)
	m.warnMu.Lock()
	seen := m.warned[key]
	m.warned[key] = true
	m.warnMu.Unlock()
	if !seen {
		m.log.Warn("memory: identity file truncated in the prompt", "user", userID, "path", fr.Path,
			"chars", fr.Chars, "shown", fr.Shown, "reason", fr.Reason)
	}
}

// cutRunes returns the first n characters of s.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// identitySource is the engine.PromptSource of the identity files.
type identitySource struct{ m *Memory }

func (s identitySource) PromptSection(ctx context.Context, pc engine.PromptContext) (string, error) {
	now := pc.Now
	if now.IsZero() {
		now = s.m.o.Now()
	}
	text, _, err := s.m.IdentityPrompt(ctx, pc.User, pc.Session.Group, now)
	return text, err
}

// PromptSources returns the sources the agent calls every turn: the
// identity files, then recall of matching chunks (when RecallTokens is
// not negative).
func (m *Memory) PromptSources() []engine.PromptSource {
	out := []engine.PromptSource{identitySource{m}}
	if m.o.RecallTokens > 0 {
		out = append(out, recallSource{m})
	}
	return out
}
