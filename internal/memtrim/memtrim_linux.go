//go:build linux

package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Release returns the Go heap's free pages to the operating system and
// drops the executable's read-only pages from the process's page tables.
// It is safe to call at any time from any goroutine; pages in use fault
// back in.
func Release() (Report, error) {
	var r Report
	r.RSSBefore = rss()
	debug.FreeOSMemory()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return r, fmt.Errorf("memtrim: stat executable: %w", err)
	}
	raw, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return r, fmt.Errorf("memtrim: read maps: %w", err)
	}
	ms, err := readOnlyMappings(raw, fileID{dev: fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev)), ino: st.Ino})
	if err != nil {
		return r, err
	}
	for _, m := range ms {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.lo), uintptr(m.hi-m.lo), syscall.MADV_DONTNEED); errno != 0 {
			return r, fmt.Errorf("memtrim: madvise %#x-%#x: %w", m.lo, m.hi, errno)
		}
		r.Mappings++
		r.Bytes += int64(m.hi - m.lo)
	}
	r.RSSAfter = rss()
	return r, nil
}

// mapping is one address range of /proc/self/maps.
type mapping struct{ lo, hi uint64 }

// fileID names a file as /proc/PID/maps does: device (major:minor, in
// hex) and inode.
type fileID struct {
	dev string
	ino uint64
}

// readOnlyMappings returns the mappings in a /proc/PID/maps listing that
// map the file id and are not writable. Writable mappings of
// the executable (its data segment) hold the process's own changes and
// are never returned.
func readOnlyMappings(maps []byte, id fileID) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode [path]
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return nil, fmt.Errorf("memtrim: malformed maps line %q", sc.Text())
		}
		inode, err := strconv.ParseUint(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("memtrim: maps line %q: inode: %w", sc.Text(), err)
		}
		if inode != id.ino || inode == 0 || f[3] != id.dev || len(f[1]) < 2 || f[1][0] != 'r' || f[1][1] != '-' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("memtrim: maps line %q: no address range", sc.Text())
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			return nil, fmt.Errorf("memtrim: maps line %q: bad address range", sc.Text())
		}
		out = append(out, mapping{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memtrim: read maps: %w", err)
	}
	return out, nil
}

// rss is the process's resident set in bytes (VmRSS), or 0.
func rss() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
