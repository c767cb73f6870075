package repl

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// table renders rows as aligned columns with text/tabwriter. Cells are
// cleaned of tabs, newlines and control characters, since they carry text
// from other people (display names, audit details).
type table struct {
	b strings.Builder
	w *tabwriter.Writer
}

func newTable(header ...string) *table {
	t := &table{}
	t.w = tabwriter.NewWriter(&t.b, 0, 0, 2, ' ', 0)
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			t.w.Write([]byte{'\t'})
		}
		t.w.Write([]byte(cell(c)))
	}
	t.w.Write([]byte{'\n'})
}

// String flushes and returns the table without its final newline.
func (t *table) String() string {
	t.w.Flush()
	return strings.TrimRight(t.b.String(), "\n")
}

// cell makes a value safe for one table cell; empty shows as "-".
func cell(s string) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// stamp formats a time for a table; zero shows as "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// ago renders a duration coarsely (42s, 5m, 3h, 2d).
func ago(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}
