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
	ft    *foldTable
	phr   *phraseIndex
	anc   *anchorIndex
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
	d := &Detector{known: known, ft: folds(), phr: phraseIdx(), anc: anchorIdx()}
	d.pool.New = func() any { return &scanCtx{det: d} }
	return d
}

// scanCtx is the scratch state of one scan.
type scanCtx struct {
	det     *Detector
	v       view
	ph      phraseState
	hits    []acHit
	out     []Finding
	depth   int
	decoded int
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
	c.out, c.depth, c.decoded = c.out[:0], depth, 0
	c.v.build(text, d.ft, &c.out)
	c.out = d.phr.matchPhrases(&c.v, &c.ph, c.out)
	c.hits = d.anc.ac.scan(c.v.fold, c.hits[:0])
	for _, h := range c.hits {
		d.anc.fns[h.pat](c, int(h.start), int(h.end))
	}
	if depth == 0 {
		c.scanPayloads()
	}
	out := mergeFindings(c.out)
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
