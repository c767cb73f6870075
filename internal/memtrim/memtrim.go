// Package memtrim gives back the memory a long-running process needed only
// while it started: the Go heap's free pages, and the pages of the
// executable's read-only segments (code, read-only data, the runtime's
// function tables) that start-up touched.
//
// The executable's pages are file-backed and clean, so dropping them from
// the process's page tables loses nothing: a page that is needed again is
// mapped again from the page cache on its next use. Linux maps file pages
// around every fault (64 KiB at a time), so the one-off work of start-up
// (package initialisation, configuration, migrations, schema compilation)
// leaves tens of megabytes of the binary resident that an idle process
// never reads again; Release drops them, and what the running process
// uses comes back on demand.
package memtrim

// Report says what Release did. Sizes are in bytes; RSS figures are read
// from the kernel before and after and are zero where it does not say.
type Report struct {
	// Mappings is the number of read-only mappings of the executable
	// that were released.
	Mappings int
	// Bytes is their total size (mapped, not necessarily resident).
	Bytes int64
	// RSSBefore and RSSAfter are the process's resident set.
	RSSBefore, RSSAfter int64
}
