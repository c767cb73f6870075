package safety

import "testing"

func BenchmarkPartBuild(b *testing.B) {
	text := toolOutput2K()
	var v view
	ft := folds()
	var out sink
	measureCPU(b, func() {
		out.reset()
		v.build(text, ft, &out)
	})
}

func BenchmarkPartSkelAC(b *testing.B) {
	text := toolOutput2K()
	var v view
	v.build(text, folds(), nil)
	idx := phraseIdx()
	var hits []acHit
	measureCPU(b, func() { hits = idx.ac.scan(v.skel, hits[:0]) })
	b.ReportMetric(float64(len(hits)), "hits")
}

func BenchmarkPartFoldAC(b *testing.B) {
	text := toolOutput2K()
	var v view
	v.build(text, folds(), nil)
	idx := anchorIdx()
	var hits []acHit
	measureCPU(b, func() { hits = idx.ac.scan(v.fold, hits[:0]) })
	b.ReportMetric(float64(len(hits)), "hits")
}

func BenchmarkPartPhrases(b *testing.B) {
	text := toolOutput2K()
	var v view
	v.build(text, folds(), nil)
	idx := phraseIdx()
	var st phraseState
	var out sink
	measureCPU(b, func() {
		out.reset()
		idx.matchPhrases(&v, &st, &out)
	})
}

func BenchmarkPartScan(b *testing.B) {
	text := toolOutput2K()
	d := NewDetector(DetectorOptions{})
	measureCPU(b, func() { d.Scan(text) })
}

func BenchmarkPartWrap(b *testing.B) {
	text := toolOutput2K()
	measureCPU(b, func() { Wrap("tool:x", text) })
}
