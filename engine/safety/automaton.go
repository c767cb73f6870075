package safety

// acMatcher is an Aho-Corasick automaton compiled to a dense DFA over byte
// classes: bytes that occur in no pattern share class 0, so the table stays
// small and every input byte costs one table lookup. Table entries hold the
// target state's row offset (state × classes); a negative entry marks a
// state with matches, so the scan loop tests one sign bit per byte.
// Scanning is linear in the input plus the number of matches.
type acMatcher struct {
	class  [256]uint8
	nclass int
	next   []int32 // row offset of state + class → row offset of next state (negated: ^offset, has matches)
	out    [][]int32
	plen   []int32
}

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
	// scan visits most share cache lines, and encode entries as row
	// offsets, negated for states with output.
	order := append([]int32{0}, queue...)
	newID := make([]int32, n)
	for i, s := range order {
		newID[s] = int32(i)
	}
	m.next = make([]int32, n*nc)
	outs := make([][]int32, n)
	for i, s := range order {
		outs[i] = m.out[s]
		for c := 0; c < nc; c++ {
			t := next[int(s)*nc+c]
			off := newID[t] * int32(nc)
			if len(m.out[t]) > 0 {
				off = ^off
			}
			m.next[i*nc+c] = off
		}
	}
	m.out = outs
	return m
}

// scan appends every pattern occurrence in text to hits, ordered by end.
func (m *acMatcher) scan(text []byte, hits []acHit) []acHit {
	next, class := m.next, &m.class
	nc := int32(m.nclass)
	row := int32(0)
	for i, b := range text {
		row = next[row+int32(class[b])]
		if row >= 0 {
			continue
		}
		row = ^row
		end := int32(i + 1)
		for _, p := range m.out[row/nc] {
			hits = append(hits, acHit{pat: p, start: end - m.plen[p], end: end})
		}
	}
	return hits
}

// states reports the automaton's size (for tests and sizing).
func (m *acMatcher) states() int { return len(m.out) }
