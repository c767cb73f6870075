package postgres_test

import (
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// TestMemoryVectorRecall measures the vector index's recall@10 against
// the exact ranking on the benchmarks' 10,000-chunk corpus ("clustered")
// and on a harder one of 1,000 loose clusters ("loose"), logged; it must
// stay high for hybrid search to mean anything. IVFFlat's recall on the
// loose corpus is lower by design (its lists split the clusters).
func TestMemoryVectorRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000-chunk corpora")
	}
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_RECALL_CHUNKS")); err == nil && v > 0 {
		n = v // e.g. 100000, to measure on the benchmarks' largest corpus
	}
	ivfflat := os.Getenv("HEARTH_BENCH_VECTOR_INDEX") == postgres.VectorIndexIVFFlat
	for _, tc := range []struct {
		name   string
		corpus func() *benchCorpus
		want   float64
	}{
		{"clustered", newBenchCorpus, 0.9},
		{"loose", newLooseCorpus, map[bool]float64{false: 0.9, true: 0.6}[ivfflat]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := openCorpus(t, tc.corpus(), n, false)
			recall := measureRecall(t, s, c, n)
			t.Logf("vector index recall@10 over %d vectors of %d dimensions: %.3f", n, benchDims, recall)
			if recall < tc.want {
				t.Errorf("recall@10 = %.3f, want >= %.2f", recall, tc.want)
			}
		})
	}
}

// measureRecall returns the share of the exact top 10 that VectorSearch
// finds for 30 queries.
func measureRecall(t *testing.T, s *postgres.Store, c *benchCorpus, n int) float64 {
	t.Helper()
	ctx := t.Context()
	vecs := make([][]float32, n)
	for i := range vecs {
		_, vecs[i] = c.chunk(i)
	}
	found, total := 0, 0
	for q := range 30 {
		_, v := c.query(q, n)
		hits, err := s.VectorSearch(ctx, "bench", v, engine.SearchOptions{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]bool{}
		for _, h := range hits {
			i, _ := strconv.Atoi(h.Chunk.Hash)
			got[i] = true
		}
		for _, i := range exactTop10(vecs, v) {
			total++
			if got[i] {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}

func exactTop10(vecs [][]float32, q []float32) []int {
	type sc struct {
		i int
		s float64
	}
	all := make([]sc, len(vecs))
	for i, v := range vecs {
		var d, nv, nq float64
		for j := range v {
			d += float64(v[j]) * float64(q[j])
			nv += float64(v[j]) * float64(v[j])
			nq += float64(q[j]) * float64(q[j])
		}
		all[i] = sc{i, d / math.Sqrt(nv*nq)}
	}
	slices.SortFunc(all, func(a, b sc) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return a.i - b.i
	})
	out := make([]int, 10)
	for i := range out {
		out[i] = all[i].i
	}
	return out
}
