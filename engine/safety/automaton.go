package safety

import "fmt"

// acMatcher is an Aho-Corasick automaton compiled to a dense DFA over byte
// classes: bytes that occur in no pattern share class 0, so the table stays
// small and every input byte costs one table lookup. Table entries are 16
// bits: the target state's number, with the top bit set when that state
// has matches, so the scan loop tests one bit per byte and the table is
// half the size of one of 32-bit row offsets (the phrase automaton's is
// 1.4 MB instead of 2.8 MB, which matters for an idle process's memory
// and for the cache while scanning). Scanning is linear in the input plus
// the number of matches.
type acMatcher struct {
	class  [256]uint8
	nclass int
	next   []uint16 // state × classes + class → next state (| acOut: it has matches)
	out    [][]int32
	plen   []int32
}

// acOut marks a table entry whose target state has matches; the other
// bits are the state's number, so an automaton has at most acMaxStates.
const (
	acOut       = 1 << 15
	acMaxStates = acOut
)

// acHit is one pattern occurrence; end is exclusive.
type acHit struct {
	pat        int32
	start, end int32
}

// newAC compiles patterns (non-empty byte strings; duplicates allowed).
func newAC(patterns []string) *acMatcher {
	m := &acMatcher{plen: make([]int32, len(patterns))}
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	m.nclass = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			m.class[b] = uint8(m.nclass)
			m.nclass++
		}
	}
	// Trie with sparse children.
	type node struct {
		kids map[uint8]int32
		fail int32
		out  []int32
	}
	nodes := []node{{kids: map[uint8]int32{}}}
	for pi, p := range patterns {
		m.plen[pi] = int32(len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			nx, ok := nodes[s].kids[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{kids: map[uint8]int32{}})
				nodes[s].kids[c] = nx
			}
			s = nx
		}
		nodes[s].out = append(nodes[s].out, int32(pi))
	}
	// BFS: failure links, merged outputs and the dense table (of states).
	n, nc := len(nodes), m.nclass
	next := make([]int32, n*nc)
	m.out = make([][]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < nc; c++ {
		if k, ok := nodes[0].kids[uint8(c)]; ok {
			next[c] = k
			queue = append(queue, k)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		f := nodes[s].fail
		out := nodes[s].out
		if len(m.out[f]) > 0 {
			out = append(append([]int32(nil), out...), m.out[f]...)
		}
		m.out[s] = out
		for c := 0; c < nc; c++ {
			if k, ok := nodes[s].kids[uint8(c)]; ok {
				nodes[k].fail = next[int(f)*nc+c]
				next[int(s)*nc+c] = k
				queue = append(queue, k)
			} else {
				next[int(s)*nc+c] = next[int(f)*nc+c]
			}
		}
	}
	// Renumber states in breadth-first order, so the shallow states that a
	// scan visits most share cache lines, and mark entries whose target
	// has output.
	if n > acMaxStates {
		// The patterns are the package's own tables, so this is a bug
		// that every test that scans finds.
		panic(fmt.Sprintf("safety: automaton of %d states, more than the %d a compact table holds", n, acMaxStates))
	}
	order := append([]int32{0}, queue...)
	newID := make([]int32, n)
	for i, s := range order {
		newID[s] = int32(i)
	}
	m.next = make([]uint16, n*nc)
	outs := make([][]int32, n)
	for i, s := range order {
		outs[i] = m.out[s]
		for c := 0; c < nc; c++ {
			t := next[int(s)*nc+c]
			e := uint16(newID[t])
			if len(m.out[t]) > 0 {
				e |= acOut
			}
			m.next[i*nc+c] = e
		}
	}
	m.out = outs
	return m
}

// scan appends every pattern occurrence in text to hits, ordered by end.
func (m *acMatcher) scan(text []byte, hits []acHit) []acHit {
	next, class := m.next, &m.class
	nc := m.nclass
	row := 0
	for i, b := range text {
		e := next[row+int(class[b])]
		row = int(e&^acOut) * nc
		if e&acOut == 0 {
			continue
		}
		end := int32(i + 1)
		for _, p := range m.out[e&^acOut] {
			hits = append(hits, acHit{pat: p, start: end - m.plen[p], end: end})
		}
	}
	return hits
}

// states reports the automaton's size (for tests and sizing).
func (m *acMatcher) states() int { return len(m.out) }
