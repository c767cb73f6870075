package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/chunk"
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

// indexCorpus makes the words of the benchmark documents.
type indexCorpus interface {
	// words returns n words of section s of document doc.
	words(doc, s, n int) []string
}

// distinctWords are the words of the first version of this benchmark:
// 150 distinct words per section, found in no other section, each used
// once or more. Every section adds 150 words to the full-text
// vocabulary, which is the index's worst case.
type distinctWords struct{}

func (distinctWords) words(doc, s, n int) []string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("word%d_%d_%d", doc, s, i%150)
	}
	return w
}

// proseWords are drawn from a 20,000-word vocabulary with a Zipf
// distribution, like prose (and like the corpus of the store's own
// benchmarks): common words have long posting lists, most words are rare.
type proseWords struct{ zipf *rand.Zipf }

func newProseWords() proseWords {
	return proseWords{rand.NewZipf(rand.New(rand.NewPCG(7, 42)), 1.1, 2, 19_999)}
}

func (p proseWords) words(_, _, n int) []string {
	w := make([]string, n)
	for i := range w {
		w[i] = "w" + strconv.FormatUint(p.zipf.Uint64(), 36)
	}
	return w
}

// BenchmarkIndexing measures the whole indexing pipeline of written
// documents except the embedding call: chunking (memory/chunk, default
// options: 800 words, 15% overlap), hashing, cache lookups, storing chunks
// with their full-text entries, storing vectors in the cache and on the
// chunks. No text repeats, so the embedding cache never hits. Writes come
// in rounds of 16 documents, as from an import or a busy conversation; the
// indexer takes what changed in one pass (IndexNow, timed alone).
//
// Reported are chunks and words per second of IndexNow (wall time), words
// counted in the stored chunks (so the words that consecutive windows
// share count twice, as the index stores them twice), and the process's
// CPU time per chunk during IndexNow (less disturbed by other work on the
// machine than wall time). The cases:
//
//   - chunk500: documents of 4 sections of 250 words, which the chunker
//     packs into 2 chunks (750 and 250 words: 500 on average), distinct
//     words (the first version of this benchmark);
//   - chunk800: documents of 2 sections of 2,160 words (the heading's 5
//     and 2,155 more), each cut into 3 windows of 800 words overlapping by
//     120 (15%): the chunk size the memory issue asks for, distinct words;
//   - chunk800prose: the same shape with words drawn like prose.
//
// Run it with:
//
//	go test ./memory -run '^$' -bench Indexing -benchtime 50x -count 5
func BenchmarkIndexing(b *testing.B) {
	cases := []struct {
		name            string
		sections, words int
		corpus          indexCorpus
	}{
		{"chunk500", 4, 250, distinctWords{}},
		{"chunk800", 2, 2155, distinctWords{}},
		{"chunk800prose", 2, 2155, newProseWords()},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) { benchIndexing(b, tc.sections, tc.words, tc.corpus) })
	}
}

func benchIndexing(b *testing.B, sections, words int, corpus indexCorpus) {
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
	const docsPerRound = 16
	var spent, cpu time.Duration
	var chunkWords int
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for d := range docsPerRound {
			doc := i*docsPerRound + d
			var sb strings.Builder
			for s := range sections {
				fmt.Fprintf(&sb, "## Section %d of %d\n%s\n\n", s, doc, strings.Join(corpus.words(doc, s, words), " "))
			}
			for _, p := range chunk.Split(sb.String(), chunk.Options{}) {
				chunkWords += len(strings.Fields(p.Text))
			}
			if _, err := m.Write(ctx, "u", fmt.Sprintf("notes/%05d-%02d.md", i, d), sb.String()); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuNow()
		if err := m.IndexNow(ctx, "u"); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(t0)
		cpu += cpuNow() - c0
	}
	stats, err := st.MemoryStats(ctx, "u")
	if err != nil {
		b.Fatal(err)
	}
	chunks := stats.ChunksEmbedded
	if stats.Chunks != chunks || chunks == 0 || stats.DocumentsToIndex != 0 {
		b.Fatalf("stats %+v", stats)
	}
	b.ReportMetric(float64(chunks)/spent.Seconds(), "chunks/s")
	b.ReportMetric(float64(chunkWords)/spent.Seconds(), "words/s")
	b.ReportMetric(float64(chunkWords)/float64(chunks), "words/chunk")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(chunks), "cpu-µs/chunk")
	}
}

// BenchmarkReindexAfterAppend measures re-indexing after appends, the
// common change of a daily note or MEMORY.md: 16 documents of 2 sections
// of 2,160 words (6 chunks of 800 words each) get a paragraph of 40 words
// appended and are indexed again (IndexNow, timed alone). Reported as
// documents re-indexed per second; a store that keeps the chunks an
// append leaves unchanged tokenises only the last window again.
//
//	go test ./memory -run '^$' -bench ReindexAfterAppend -benchtime 50x -count 5
func BenchmarkReindexAfterAppend(b *testing.B) {
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
	corpus := newProseWords()
	const docs = 16
	for d := range docs {
		var sb strings.Builder
		for s := range 2 {
			fmt.Fprintf(&sb, "## Section %d of %d\n%s\n\n", s, d, strings.Join(corpus.words(d, s, 2155), " "))
		}
		if _, err := m.Write(ctx, "u", fmt.Sprintf("daily/%02d.md", d), sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.IndexNow(ctx, "u"); err != nil {
		b.Fatal(err)
	}
	var spent time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for d := range docs {
			para := strings.Join(corpus.words(d, i, 40), " ") + "\n"
			if _, err := m.Append(ctx, "u", fmt.Sprintf("daily/%02d.md", d), para); err != nil {
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
	if stats.DocumentsToIndex != 0 || stats.Chunks != stats.ChunksEmbedded {
		b.Fatalf("stats %+v", stats)
	}
	b.ReportMetric(float64(b.N*docs)/spent.Seconds(), "docs/s")
}
