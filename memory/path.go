package memory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
)

// Limits of workspace paths.
const (
	// MaxPathBytes bounds a path's length in bytes.
	MaxPathBytes = 512
	// MaxPathDepth bounds the number of folders and file of a path.
	MaxPathDepth = 16
	// MaxNameBytes bounds one folder or file name.
	MaxNameBytes = 255
)

// Errors of the workspace; match them with errors.Is. Sizes beyond the
// limit are engine.ErrTooLarge.
var (
	// ErrInvalidPath: a path is empty, absolute, climbs out with "..",
	// contains NUL or control characters or invalid UTF-8, or is too long
	// or too deep.
	ErrInvalidPath = errors.New("invalid path")
	// ErrInvalidContent: content is not valid UTF-8 or contains NUL.
	ErrInvalidContent = errors.New("invalid content")
)

func pathError(p, format string, args ...any) error {
	shown := p
	if len(shown) > 80 {
		shown = shown[:80] + "…"
	}
	return fmt.Errorf("memory: path %q: %s: %w", shown, fmt.Sprintf(format, args...), ErrInvalidPath)
}

// CleanPath validates a workspace path and returns its clean form: folders
// separated by '/', no empty or "." segments, no leading "./" and no
// surrounding spaces ("./notes//trip.md" becomes "notes/trip.md").
// Absolute paths, ".." segments, backslashes, NUL and control
// characters, invalid UTF-8 and paths over the limits are refused with an
// error that says which rule the path broke.
func CleanPath(p string) (string, error) {
	if !utf8.ValidString(p) {
		return "", pathError(strings.ToValidUTF8(p, "\uFFFD"), "not valid UTF-8")
	}
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return "", pathError(p, "empty")
	case strings.ContainsRune(p, 0):
		return "", pathError(strings.ReplaceAll(p, "\x00", `\0`), "contains a NUL byte")
	case len(p) > MaxPathBytes:
		return "", pathError(p, "%d bytes long, the limit is %d", len(p), MaxPathBytes)
	case strings.HasPrefix(p, "/") || (len(p) >= 2 && p[1] == ':' && isASCIILetter(p[0])) || strings.HasPrefix(p, "~"):
		return "", pathError(p, "must be relative to the workspace (like notes/trip.md), not absolute")
	case strings.ContainsRune(p, '\\'):
		return "", pathError(p, `separate folders with '/', not '\'`)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return "", pathError(p, "contains the control character %U", r)
		}
	}
	var parts []string
	for _, seg := range strings.Split(p, "/") {
		seg = strings.TrimSpace(seg)
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", pathError(p, `".." is not allowed: paths stay inside the workspace`)
		}
		if len(seg) > MaxNameBytes {
			return "", pathError(p, "the name %q is longer than %d bytes", seg[:32]+"…", MaxNameBytes)
		}
		parts = append(parts, seg)
	}
	switch {
	case len(parts) == 0:
		return "", pathError(p, "names no file")
	case len(parts) > MaxPathDepth:
		return "", pathError(p, "%d levels deep, the limit is %d", len(parts), MaxPathDepth)
	}
	return strings.Join(parts, "/"), nil
}

// CleanFolder validates a folder prefix for listings: "" (or "/", ".")
// is the whole workspace, anything else a clean path followed by '/'.
func CleanFolder(p string) (string, error) {
	switch strings.TrimSpace(p) {
	case "", "/", ".", "./":
		return "", nil
	}
	c, err := CleanPath(p)
	if err != nil {
		return "", err
	}
	return c + "/", nil
}

func isASCIILetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

// CheckContent validates document content: valid UTF-8, no NUL, at most
// maxBytes bytes (maxBytes <= 0: no limit).
func CheckContent(content string, maxBytes int) error {
	switch {
	case !utf8.ValidString(content):
		return fmt.Errorf("memory: content is not valid UTF-8 text: %w", ErrInvalidContent)
	case strings.ContainsRune(content, 0):
		return fmt.Errorf("memory: content contains a NUL byte (binary data is not stored): %w", ErrInvalidContent)
	case maxBytes > 0 && len(content) > maxBytes:
		return fmt.Errorf("memory: content is %d bytes, the limit is %d: %w", len(content), maxBytes, engine.ErrTooLarge)
	}
	return nil
}
