package safety

import (
	"slices"
	"sync"
)

// DetectorOptions configure a Detector. The zero value is usable.
type DetectorOptions struct {
	// KnownHosts are hosts (and their subdomains) whose images are not
	// treated as exfiltration targets, in addition to the built-in list of
	// badge, avatar and documentation hosts.
	KnownHosts []string
	// NoDefaultHosts drops the built-in list.
	NoDefaultHosts bool
}

// Detector finds injection techniques in text. It is safe for concurrent
// use. The pattern tables are compiled once per process and shared.
type Detector struct {
	known hostSet
	pool  sync.Pool // *scanCtx
}

// NewDetector returns a detector.
func NewDetector(opts DetectorOptions) *Detector {
	var known hostSet
	if opts.NoDefaultHosts {
		known = newHostSet(opts.KnownHosts)
	} else {
		known = newHostSet(defaultKnownHosts, opts.KnownHosts)
	}
	d := &Detector{known: known}
	d.pool.New = func() any { return &scanCtx{det: d} }
	// The Unicode fold table and the phrase and anchor automata take tens
	// of milliseconds to build; build them in the background so that
	// start-up does not wait, and the first scan waits only for what is
	// not ready yet.
	go Warm()
	return d
}

// Warm builds the immutable tables every detector shares and returns when
// they are ready. NewDetector starts it in the background; a caller that
// wants to release start-up garbage afterwards can wait for it.
func Warm() {
	folds()
	phraseIdx()
	anchorIdx()
}

// scanCtx is the scratch state of one scan.
type scanCtx struct {
	det     *Detector
	v       view
	ph      phraseState
	hits    []acHit
	sink    sink
	depth   int
	decoded int
	// seen[k] is where the last region examined by check kind k ends
	// (fold offsets for lines, original offsets for URLs): a later anchor
	// inside it is not examined again, which keeps repeated anchors from
	// costing a window each.
	seen [numSeen]int
}

// Check kinds that remember the region they examined.
const (
	seenURL = iota
	seenPipe
	numSeen
)

// maxPerRule bounds the findings of one rule in one scan; later matches
// widen the rule's last finding instead, so a text that repeats one trick
// a million times yields a short verdict.
const maxPerRule = 128

// sink collects findings, at most maxPerRule per rule.
type sink struct {
	out  []Finding
	n    [64]int32 // findings per rule index
	last [64]int32 // index in out of the rule's last finding
}

func (s *sink) reset() {
	s.out = s.out[:0]
	s.n = [64]int32{}
}

// add records a finding of ruleTable[i] for original bytes [start,end).
func (s *sink) add(i, start, end int) {
	if s.n[i] >= maxPerRule {
		f := &s.out[s.last[i]]
		f.Start, f.End = min(f.Start, start), max(f.End, end)
		return
	}
	r := &ruleTable[i]
	s.n[i]++
	s.last[i] = int32(len(s.out))
	s.out = append(s.out, Finding{Rule: r.ID, Family: r.Family, Severity: r.Severity, Start: start, End: end, rule: i})
}

// maxPooled is the largest text whose scratch buffers are kept for reuse.
const maxPooled = 1 << 20

// Scan returns the findings in text, ordered by start offset. Spans are
// byte offsets into text. The cost is linear in the length of text.
func (d *Detector) Scan(text string) []Finding {
	return d.scanDepth(text, 0)
}

func (d *Detector) scanDepth(text string, depth int) []Finding {
	c := d.pool.Get().(*scanCtx)
	c.sink.reset()
	c.depth, c.decoded = depth, 0
	c.seen = [numSeen]int{}
	anc := anchorIdx()
	c.v.build(text, folds(), &c.sink)
	phraseIdx().matchPhrases(&c.v, &c.ph, &c.sink)
	c.hits = anc.ac.scan(c.v.fold, c.hits[:0])
	for _, h := range c.hits {
		anc.fns[h.pat](c, int(h.start), int(h.end))
	}
	if depth == 0 {
		c.scanPayloads()
	}
	out := mergeFindings(c.sink.out)
	c.v.src = ""
	if len(text) <= maxPooled {
		d.pool.Put(c)
	}
	return out
}

// mergeFindings sorts findings and merges overlapping spans of one rule.
// It returns a new slice (nil when there are none).
func mergeFindings(in []Finding) []Finding {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b Finding) int {
		if a.rule != b.rule {
			return a.rule - b.rule
		}
		return a.Start - b.Start
	})
	out := make([]Finding, 0, len(in))
	for _, f := range in {
		if n := len(out); n > 0 && out[n-1].rule == f.rule && f.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, f.End)
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		if a.End != b.End {
			return a.End - b.End
		}
		return a.rule - b.rule
	})
	return out
}
