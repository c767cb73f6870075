package safety

// acMatcher is an Aho-Corasick automaton compiled to a dense DFA over byte
// classes: bytes that occur in no pattern share class 0, so the table stays
// small and every input byte costs one table lookup. Scanning is linear in
// the input plus the number of matches.
type acMatcher struct {
	class  [256]uint8
	nclass int
	next   []int32 // state*nclass + class → state
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
	// Byte classes.
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
	if m.nclass > 256 {
		panic("safety: too many byte classes") // 255 used bytes + class 0 fits; unreachable
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
	// BFS: failure links and the dense table.
	n := len(nodes)
	m.next = make([]int32, n*m.nclass)
	m.out = make([][]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < m.nclass; c++ {
		if k, ok := nodes[0].kids[uint8(c)]; ok {
			m.next[c] = k
			nodes[k].fail = 0
			queue = append(queue, k)
		}
	}
	m.out[0] = nodes[0].out
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		f := nodes[s].fail
		out := nodes[s].out
		if len(m.out[f]) > 0 {
			out = append(append([]int32(nil), out...), m.out[f]...)
		}
		m.out[s] = out
		for c := 0; c < m.nclass; c++ {
			if k, ok := nodes[s].kids[uint8(c)]; ok {
				nodes[k].fail = m.next[int(f)*m.nclass+c]
				m.next[int(s)*m.nclass+c] = k
				queue = append(queue, k)
			} else {
				m.next[int(s)*m.nclass+c] = m.next[int(f)*m.nclass+c]
			}
		}
	}
	return m
}

// scan appends every pattern occurrence in text to hits, ordered by end.
func (m *acMatcher) scan(text []byte, hits []acHit) []acHit {
	s := int32(0)
	nc := int32(m.nclass)
	for i, b := range text {
		s = m.next[s*nc+int32(m.class[b])]
		if s == 0 {
			continue
		}
		for _, p := range m.out[s] {
			end := int32(i + 1)
			hits = append(hits, acHit{pat: p, start: end - m.plen[p], end: end})
		}
	}
	return hits
}

// states reports the automaton's size (for tests and sizing).
func (m *acMatcher) states() int { return len(m.out) }
