package safety

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// corpusEntry is one line of testdata/injections.jsonl or benign.jsonl.
type corpusEntry struct {
	ID        string `json:"id"`
	Family    Family `json:"family"` // injections: the family the attempt belongs to
	Near      Family `json:"near"`   // benign: the family it resembles
	Lang      string `json:"lang"`
	Technique string `json:"technique"`
	Kind      string `json:"kind"`
	Text      string `json:"text"`
}

func loadCorpus(t testing.TB, name string) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		if e.ID == "" || e.Text == "" {
			t.Fatalf("%s:%d: entry without id or text", name, line)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// familyStats counts corpus results for one family.
type familyStats struct {
	attempts, detected, sameFamily int
	benign, flagged                int
}

// corpusResults runs every corpus entry through Check as web content.
// An attempt is detected when the verdict is not allow; it counts for its
// family's "same family" column when a finding of that family is present.
// A benign text is a false positive when the verdict is not allow.
func corpusResults(t testing.TB, injFile, benFile string) (map[Family]*familyStats, []string, []string) {
	g, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	stats := map[Family]*familyStats{}
	for _, f := range Families() {
		stats[f] = &familyStats{}
	}
	var missed, falsePos []string
	for _, e := range loadCorpus(t, injFile) {
		s, ok := stats[e.Family]
		if !ok {
			t.Fatalf("%s: unknown family %q", e.ID, e.Family)
		}
		v := g.Check(e.Text, "web")
		s.attempts++
		if v.Action != ActionAllow {
			s.detected++
		} else {
			missed = append(missed, fmt.Sprintf("%s (%s): %.80q", e.ID, e.Technique, e.Text))
		}
		for _, f := range v.Findings {
			if f.Family == e.Family {
				s.sameFamily++
				break
			}
		}
	}
	for _, e := range loadCorpus(t, benFile) {
		s, ok := stats[e.Near]
		if !ok {
			t.Fatalf("%s: unknown family %q", e.ID, e.Near)
		}
		v := g.Check(e.Text, "web")
		s.benign++
		if v.Action != ActionAllow {
			s.flagged++
			var rules []string
			for _, f := range v.Findings {
				rules = append(rules, f.Rule+"="+strings.TrimSpace(e.Text[f.Start:f.End]))
			}
			falsePos = append(falsePos, fmt.Sprintf("%s: %q", e.ID, rules))
		}
	}
	return stats, missed, falsePos
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// corpusTable renders the per-family results as a Markdown table (the one
// in docs/security.md).
func corpusTable(stats map[Family]*familyStats) string {
	var b strings.Builder
	b.WriteString("| family | attempts | detected | detection | caught by own family | benign look-alikes | flagged | false positives |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var tot familyStats
	for _, f := range Families() {
		s := stats[f]
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f%% | %.1f%% | %d | %d | %.1f%% |\n", f, s.attempts, s.detected,
			pct(s.detected, s.attempts), pct(s.sameFamily, s.attempts), s.benign, s.flagged, pct(s.flagged, s.benign))
		tot.attempts += s.attempts
		tot.detected += s.detected
		tot.sameFamily += s.sameFamily
		tot.benign += s.benign
		tot.flagged += s.flagged
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %.1f%% | %.1f%% | %d | %d | %.1f%% |\n", tot.attempts, tot.detected,
		pct(tot.detected, tot.attempts), pct(tot.sameFamily, tot.attempts), tot.benign, tot.flagged, pct(tot.flagged, tot.benign))
	return b.String()
}

// TestCorpusQuality is the quality gate on the fixed corpora: overall
// detection at least 95% (and in every family), overall false
// positives at most 2%, with at least 150 attempts covering every family
// and at least 300 benign texts.
func TestCorpusQuality(t *testing.T) {
	stats, missed, falsePos := corpusResults(t, "injections.jsonl", "benign.jsonl")
	t.Logf("\n%s", corpusTable(stats))
	for _, m := range missed {
		t.Logf("missed: %s", m)
	}
	for _, f := range falsePos {
		t.Logf("false positive: %s", f)
	}
	var attempts, detected, benign, flagged int
	for _, f := range Families() {
		s := stats[f]
		if s.attempts < 8 {
			t.Errorf("family %s has only %d attempts in the corpus", f, s.attempts)
		}
		if s.benign < 20 {
			t.Errorf("family %s has only %d benign look-alikes", f, s.benign)
		}
		if r := pct(s.detected, s.attempts); r < 95 {
			t.Errorf("family %s: detection %.1f%% is below 95%%", f, r)
		}
		attempts += s.attempts
		detected += s.detected
		benign += s.benign
		flagged += s.flagged
	}
	if attempts < 150 || benign < 300 {
		t.Errorf("corpus too small: %d attempts (want >= 150), %d benign (want >= 300)", attempts, benign)
	}
	if r := pct(detected, attempts); r < 95 {
		t.Errorf("overall detection %.1f%% is below 95%%", r)
	}
	if r := pct(flagged, benign); r > 2 {
		t.Errorf("overall false positives %.1f%% are above 2%%", r)
	}
}

// TestCorpusHeldOut reports results on corpora that were not used to write
// the rules: holdout_* was written after the first tuning round and used
// once for fixes (its first-run numbers are in docs/security.md); blind_*
// was written last and has never been used to change a rule. The test
// logs both tables and fails only on a collapse (below 80% detection or
// above 10% false positives).
func TestCorpusHeldOut(t *testing.T) {
	for _, set := range []string{"holdout", "blind"} {
		t.Run(set, func(t *testing.T) {
			stats, missed, falsePos := corpusResults(t, set+"_injections.jsonl", set+"_benign.jsonl")
			t.Logf("\n%s", corpusTable(stats))
			for _, m := range missed {
				t.Logf("missed: %s", m)
			}
			for _, f := range falsePos {
				t.Logf("false positive: %s", f)
			}
			var attempts, detected, benign, flagged int
			for _, s := range stats {
				attempts += s.attempts
				detected += s.detected
				benign += s.benign
				flagged += s.flagged
			}
			if r := pct(detected, attempts); r < 80 {
				t.Errorf("detection %.1f%% is below 80%%", r)
			}
			if r := pct(flagged, benign); r > 10 {
				t.Errorf("false positives %.1f%% are above 10%%", r)
			}
		})
	}
}
