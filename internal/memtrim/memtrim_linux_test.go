//go:build linux

package memtrim

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	const maps = `00400000-0191e000 r-xp 00000000 fe:00 42                                 /usr/bin/hearth
0191e000-033c3000 r--p 0151e000 fe:00 42                                 /usr/bin/hearth
033c3000-0347c000 rw-p 02fc3000 fe:00 42                                 /usr/bin/hearth
0347c000-054ca000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fe:00 77                         /usr/lib/other.so
7ffc0000000-7ffc0001000 r-xp 00000000 00:00 0                            [vdso]
`
	tests := []struct {
		name  string
		maps  string
		id    fileID
		want  []mapping
		isErr bool
	}{
		{name: "code and read-only data of the executable only", maps: maps, id: fileID{"fe:00", 42},
			want: []mapping{{0x400000, 0x191e000}, {0x191e000, 0x33c3000}}},
		{name: "same inode on another device", maps: maps, id: fileID{"fe:01", 42}},
		{name: "another file", maps: maps, id: fileID{"fe:00", 77}, want: []mapping{{0x7f0000000000, 0x7f0000001000}}},
		{name: "anonymous inode 0 never matches", maps: maps, id: fileID{"fe:00", 0}},
		{name: "truncated line", maps: "00400000-0191e000 r-xp 0\n", id: fileID{"fe:00", 42}, isErr: true},
		{name: "bad inode", maps: "00400000-0191e000 r-xp 0 fe:00 x /a\n", id: fileID{"fe:00", 42}, isErr: true},
		{name: "bad range", maps: "0191e000-00400000 r-xp 0 fe:00 42 /a\n", id: fileID{"fe:00", 42}, isErr: true},
		{name: "no range", maps: "00400000 r-xp 0 fe:00 42 /a\n", id: fileID{"fe:00", 42}, isErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readOnlyMappings([]byte(tc.maps), tc.id)
			if tc.isErr {
				if err == nil {
					t.Fatalf("no error for %q", tc.maps)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// rssFile is the process's resident file-backed memory (RssFile) in KiB.
func rssFile(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Skip("the kernel reports no RssFile")
	return 0
}

func TestReleaseDropsExecutablePagesAndCodeStillRuns(t *testing.T) {
	// Touch a good part of the test binary's code and data first.
	var sink []byte
	for i := range 200 {
		b, _ := json.Marshal(map[string]any{"i": i, "s": strings.Repeat("x", i)})
		sink = append(sink, b...)
	}
	before := rssFile(t)
	r, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if r.Mappings < 2 || r.Bytes <= 0 {
		t.Fatalf("released %d mappings, %d bytes; want the code and read-only data", r.Mappings, r.Bytes)
	}
	if after >= before {
		t.Fatalf("RssFile %d KiB after release, %d before: nothing dropped", after, before)
	}
	if r.RSSBefore <= 0 || r.RSSAfter <= 0 || r.RSSAfter >= r.RSSBefore {
		t.Fatalf("report RSS before %d after %d", r.RSSBefore, r.RSSAfter)
	}
	// The dropped pages come back on use.
	b, err := json.Marshal(map[string]int{"n": len(sink)})
	if err != nil || !strings.Contains(string(b), `"n":`) {
		t.Fatalf("code after release: %s %v", b, err)
	}
}
