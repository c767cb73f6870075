package postgres

import (
	"math"
	"testing"
)

// TestFTSPlan checks the cost bounds on made-up statistics: 100,000 rows,
// one user holding 90% of them.
func TestFTSPlan(t *testing.T) {
	st := &termStats{
		rows:      100_000,
		words:     map[string]float64{"common": 0.5, "often": 0.3, "half": 0.45, "mid": 0.05, "some": 0.004},
		rareShare: 0.001,
		users:     map[string]float64{"big": 0.9},
		otherUser: 0.01,
	}
	for _, tc := range []struct {
		name  string
		stats *termStats
		user  string
		words []string
		query string
		part  float64
	}{
		{"no statistics rank everything", nil, "big", []string{"common", "mid"}, "common | mid", 1},
		{"small table keeps every word", &termStats{rows: 1500, words: st.words, users: st.users}, "big",
			[]string{"common", "mid"}, "common | mid", 1},
		{"rare words rank every match", st, "big", []string{"some", "unlisted"}, "some | unlisted", 1},
		{"common word left out", st, "big", []string{"common", "some"}, "some", 1},
		{"many matches rank the newest part", st, "big", []string{"mid", "common"}, "mid", scoreCap / (0.05 * 0.9 * 100_000)},
		{"only common words: all kept, newest part", st, "big", []string{"common", "often"}, "common | often",
			scoreCap / (0.8 * 0.9 * 100_000)},
		{"match share capped at every chunk", st, "big", []string{"common", "often", "half"}, "common | often | half",
			scoreCap / (0.9 * 100_000)},
		{"a small user ranks every match", st, "small", []string{"mid"}, "mid", 1},
		{"a user not listed and no others: every match", &termStats{rows: 100_000, words: st.words, users: st.users},
			"new", []string{"mid"}, "mid", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.stats.plan(tc.user, tc.words)
			if p.query != tc.query || math.Abs(p.part-tc.part) > 1e-9 {
				t.Errorf("plan(%v) = %+v, want query %q part %v", tc.words, p, tc.query, tc.part)
			}
		})
	}
}
