package vecindex

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// corpus returns n clustered unit-ish vectors (like real embeddings:
// topics with noise) from a fixed seed.
func corpus(n, dims int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centers := make([][]float32, 64)
	for c := range centers {
		centers[c] = make([]float32, dims)
		for d := range dims {
			centers[c][d] = float32(r.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := centers[r.IntN(len(centers))]
		v := make([]float32, dims)
		for d := range dims {
			v[d] = c[d] + float32(r.NormFloat64())*0.8
		}
		out[i] = v
	}
	return out
}

func exactTop(vs [][]float32, q []float32, n int) []int64 {
	type sc struct {
		id int64
		s  float64
	}
	all := make([]sc, len(vs))
	for i, v := range vs {
		all[i] = sc{int64(i + 1), Cosine(v, q)}
	}
	slices.SortFunc(all, func(a, b sc) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return 0
	})
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = all[i].id
	}
	return ids
}

func build(t testing.TB, vs [][]float32, shortlist int) *Index {
	t.Helper()
	x, err := New(len(vs[0]), shortlist)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if err := x.Set(int64(i+1), v); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func TestNewRejectsBadArguments(t *testing.T) {
	if _, err := New(0, 0); err == nil {
		t.Error("New(0) succeeded")
	}
	if _, err := New(8, -1); err == nil {
		t.Error("New with negative shortlist succeeded")
	}
}

func TestSetSearchRemove(t *testing.T) {
	x, _ := New(3, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(x.Set(1, []float32{1, 0, 0}))
	must(x.Set(2, []float32{0, 1, 0}))
	must(x.Set(3, []float32{0.9, 0.1, 0}))
	if err := x.Set(4, []float32{1, 2}); err == nil {
		t.Fatal("Set of a wrong dimension succeeded")
	}
	got, err := x.Search([]float32{2, 0, 0}, 2, nil)
	must(err)
	if len(got) != 2 || got[0].ID != 1 || got[1].ID != 3 {
		t.Fatalf("Search = %+v, want ids 1, 3", got)
	}
	if math.Abs(float64(got[0].Score)-1) > 0.01 {
		t.Errorf("score of identical direction = %v, want about 1", got[0].Score)
	}
	// Replacing moves id 2 next to the query.
	must(x.Set(2, []float32{1, 0.01, 0}))
	got, _ = x.Search([]float32{1, 0, 0}, 3, nil)
	if got[2].ID != 3 {
		t.Fatalf("after replace: %+v, want id 3 last", got)
	}
	x.Remove(1)
	x.Remove(99) // absent: nothing happens
	if x.Len() != 2 || x.Has(1) || !x.Has(2) || !x.Has(3) {
		t.Fatalf("after Remove: Len %d, Has(1) %v", x.Len(), x.Has(1))
	}
	got, _ = x.Search([]float32{1, 0, 0}, 5, nil)
	if len(got) != 2 || got[0].ID != 2 {
		t.Fatalf("after Remove: %+v", got)
	}
	got, _ = x.Search([]float32{1, 0, 0}, 5, func(id int64) bool { return id == 3 })
	if len(got) != 1 || got[0].ID != 3 {
		t.Fatalf("with keep filter: %+v", got)
	}
	if _, err := x.Search([]float32{1}, 1, nil); err == nil {
		t.Error("Search with a wrong dimension succeeded")
	}
	if got, _ := x.Search([]float32{0, 0, 0}, 1, nil); len(got) != 0 {
		t.Errorf("zero query: %+v, want nothing", got)
	}
}

// near returns n queries, each a noisy copy of a random corpus vector
// (a question close to one stored text, as with real embeddings).
func near(vs [][]float32, n int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([][]float32, n)
	for i := range out {
		src := vs[r.IntN(len(vs))]
		v := make([]float32, len(src))
		for d := range v {
			v[d] = src[d] + float32(r.NormFloat64())*0.6
		}
		out[i] = v
	}
	return out
}

// recall is the share of the exact top 10 (float cosine) found among the
// top 64 candidates of the index, which is what the store rescores.
func recall(t testing.TB, x *Index, vs, qs [][]float32) float64 {
	var found, total int
	for _, q := range qs {
		want := exactTop(vs, q, 10)
		got, err := x.Search(q, 64, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := make(map[int64]bool, len(got))
		for _, c := range got {
			ids[c.ID] = true
		}
		for _, id := range want {
			total++
			if ids[id] {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}

// TestRecall: queries close to a stored vector find its neighbourhood.
// Queries drawn at random inside a cluster (no clear nearest neighbour,
// the hardest case for sign bits) are logged for the record.
func TestRecall(t *testing.T) {
	const n, dims = 20000, 384
	vs := corpus(n, dims, 7)
	x := build(t, vs, 0)
	r := recall(t, x, vs, near(vs, 40, 9))
	hard := recall(t, x, vs, corpus(40, dims, 8))
	t.Logf("recall@10 within 64 candidates over %d vectors: %.3f (near queries), %.3f (random in-cluster queries)", n, r, hard)
	if r < 0.95 {
		t.Errorf("recall = %.3f, want >= 0.95", r)
	}
}

func TestSmallIndexIsExhaustive(t *testing.T) {
	vs := corpus(500, 64, 3)
	x := build(t, vs, 0)
	for _, q := range corpus(10, 64, 4) {
		want := exactTop(vs, q, 5)
		got, _ := x.Search(q, 20, nil)
		ids := map[int64]bool{}
		for _, c := range got {
			ids[c.ID] = true
		}
		for _, id := range want {
			if !ids[id] {
				t.Fatalf("exact top-5 id %d missing from 20 candidates of a 500-vector index", id)
			}
		}
	}
}

func BenchmarkSearch100k(b *testing.B) {
	vs := corpus(100000, 384, 1)
	x := build(b, vs, 0)
	qs := near(vs, 64, 2)
	for i := 0; b.Loop(); i++ {
		if _, err := x.Search(qs[i%len(qs)], 64, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(x.Bytes())/(1<<20), "MiB")
}
