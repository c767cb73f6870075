package memory

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// constEmbedder answers every text with the same vector at once, so that
// a benchmark measures Hearth's indexing work without the provider's.
type constEmbedder struct{ v []float32 }

func (e constEmbedder) Model() string   { return "const" }
func (e constEmbedder) Dimensions() int { return len(e.v) }
func (e constEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = e.v
	}
	return out, nil
}

// BenchmarkIndexing measures the whole indexing pipeline of written
// documents except the embedding call: chunking, hashing, cache lookups,
// storing chunks with their full-text entries, storing vectors in the
// cache and on the chunks. Each document has 4 sections of about 250
// words, which the chunker packs into 2 chunks; no text repeats, so the
// embedding cache never hits. Reported as chunks per second of IndexNow.
//
//	go test ./memory -run '^$' -bench Indexing -benchtime 200x
func BenchmarkIndexing(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if err := st.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		b.Fatal(err)
	}
	v := make([]float32, 384)
	for i := range v {
		v[i] = float32(i%7) - 3
	}
	m, err := New(Options{Store: st, Embedder: constEmbedder{v}, NoSeed: true})
	if err != nil {
		b.Fatal(err)
	}
	section := func(doc, s int) string {
		var w []string
		for i := range 250 {
			w = append(w, fmt.Sprintf("word%d_%d_%d", doc, s, i%150))
		}
		return fmt.Sprintf("## Section %d of %d\n%s\n\n", s, doc, strings.Join(w, " "))
	}
	// Writes come in rounds of 16 documents, as from an import or a busy
	// conversation; the indexer takes what changed in one pass.
	const docsPerRound = 16
	var spent time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for d := range docsPerRound {
			var sb strings.Builder
			for s := range 4 {
				sb.WriteString(section(i*docsPerRound+d, s))
			}
			if _, err := m.Write(ctx, "u", fmt.Sprintf("notes/%05d-%02d.md", i, d), sb.String()); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		if err := m.IndexNow(ctx, "u"); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(t0)
	}
	stats, err := st.MemoryStats(ctx, "u")
	if err != nil {
		b.Fatal(err)
	}
	chunks := stats.ChunksEmbedded
	if stats.Chunks != chunks || chunks == 0 {
		b.Fatalf("stats %+v", stats)
	}
	b.ReportMetric(float64(chunks)/spent.Seconds(), "chunks/s")
}
