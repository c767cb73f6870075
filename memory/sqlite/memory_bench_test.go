package sqlite_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// The memory benchmarks run on synthetic corpora: chunks of 60 words
// drawn from a 20,000-word vocabulary with a Zipf distribution (like
// prose), each with a 384-dimension vector drawn around one of 256 topic
// centres (like real embeddings, which cluster by subject). Documents
// hold 10 chunks. Queries take three words of a random chunk and a noisy
// copy of its vector (a question close to one stored note).
//
//	go test ./memory/sqlite -run '^$' -bench 'Memory' -benchtime 400x

const (
	benchDims      = 384
	benchPerDoc    = 10
	benchWords     = 60
	benchVocab     = 20000
	benchTopics    = 256
	benchUser      = "bench-user"
	benchQueryPool = 256
)

type memCorpus struct {
	r       *rand.Rand
	zipf    *rand.Zipf
	centres [][]float32
}

func newMemCorpus(seed uint64) *memCorpus {
	r := rand.New(rand.NewPCG(seed, 42))
	c := &memCorpus{r: r, zipf: rand.NewZipf(r, 1.1, 2, benchVocab-1)}
	for range benchTopics {
		v := make([]float32, benchDims)
		for d := range v {
			v[d] = float32(r.NormFloat64())
		}
		c.centres = append(c.centres, v)
	}
	return c
}

func memWord(i uint64) string { return "w" + strconv.FormatUint(i, 36) }

func (c *memCorpus) text() string {
	ws := make([]string, benchWords)
	for i := range ws {
		ws[i] = memWord(c.zipf.Uint64())
	}
	return strings.Join(ws, " ")
}

func (c *memCorpus) vector() []float32 {
	centre := c.centres[c.r.IntN(len(c.centres))]
	v := make([]float32, benchDims)
	for d := range v {
		v[d] = centre[d] + float32(c.r.NormFloat64())*0.8
	}
	return v
}

func (c *memCorpus) doc(n int) []engine.Chunk {
	out := make([]engine.Chunk, benchPerDoc)
	for i := range out {
		out[i] = engine.Chunk{Heading: "Section " + strconv.Itoa(i), Text: c.text(), Hash: strconv.Itoa(n*benchPerDoc + i),
			Embedding: c.vector()}
	}
	return out
}

func memOpenBench(b *testing.B, path string) *sqlite.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// fill writes docs documents of benchPerDoc chunks for benchUser.
func memFill(b *testing.B, st *sqlite.Store, c *memCorpus, first, docs int) {
	b.Helper()
	ctx := context.Background()
	for i := first; i < first+docs; i++ {
		path := fmt.Sprintf("notes/%06d.md", i)
		d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: benchUser, Path: path, Content: "x"})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.ReplaceChunks(ctx, benchUser, path, d.Version, c.doc(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func memBenchStore(b *testing.B, dir string) (*sqlite.Store, *memCorpus) {
	b.Helper()
	st := memOpenBench(b, filepath.Join(dir, "bench.db"))
	ctx := context.Background()
	if err := st.CreateUser(ctx, engine.User{ID: benchUser, Name: "Bench", Role: engine.RoleOwner}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "bench", Dimensions: benchDims}); err != nil {
		b.Fatal(err)
	}
	return st, newMemCorpus(1)
}

// BenchmarkMemoryIndexing measures storing chunks with their vectors
// (the work after the embedding call: the chunks' rows, their FTS5
// entries, the vectors and the in-memory index update), in documents of
// 10 chunks on a store that already holds 10,000.
func BenchmarkMemoryIndexing(b *testing.B) {
	st, c := memBenchStore(b, b.TempDir())
	memFill(b, st, c, 0, 1000)
	ctx := context.Background()
	// Build the in-memory index, so its upkeep is part of the cost.
	if _, err := st.VectorSearch(ctx, benchUser, c.vector(), engine.SearchOptions{Limit: 1}); err != nil {
		b.Fatal(err)
	}
	docs := make([][]engine.Chunk, 256)
	for i := range docs {
		docs[i] = c.doc(i)
	}
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; b.Loop(); i++ {
		path := fmt.Sprintf("new/%06d.md", i)
		d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: benchUser, Path: path, Content: "x"})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.ReplaceChunks(ctx, benchUser, path, d.Version, docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
		n += benchPerDoc
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "chunks/s")
}

// BenchmarkMemoryHybridSearch measures one hybrid search as the agent
// runs it (memory.Search: full text and vector search of the store, 40
// candidates each, fused with RRF, recency weighting, 10 hits) at 1k, 10k
// and 100k chunks, with an embedder that answers at once (the embedding
// call is the provider's, not Hearth's), reporting the median and 99th
// percentile latency and, at 100k, the RSS of the process holding the
// corpus.
func BenchmarkMemoryHybridSearch(b *testing.B) {
	for _, chunks := range []int{1_000, 10_000, 100_000} {
		b.Run(strconv.Itoa(chunks), func(b *testing.B) {
			st, c := memBenchStore(b, b.TempDir())
			memFill(b, st, c, 0, chunks/benchPerDoc)
			ctx := context.Background()
			// Queries: three words and a noisy vector of random chunks.
			type query struct {
				text string
				vec  []float32
			}
			var qs []query
			for range benchQueryPool {
				doc := c.r.IntN(chunks / benchPerDoc)
				chs, err := st.GetChunks(ctx, benchUser, fmt.Sprintf("notes/%06d.md", doc))
				if err != nil || len(chs) == 0 {
					b.Fatal(err)
				}
				ch := chs[c.r.IntN(len(chs))]
				ws := strings.Fields(ch.Text)
				v := slices.Clone(ch.Embedding)
				for d := range v {
					v[d] += float32(c.r.NormFloat64()) * 0.5
				}
				qs = append(qs, query{ws[c.r.IntN(len(ws))] + " " + ws[c.r.IntN(len(ws))] + " " + ws[c.r.IntN(len(ws))], v})
			}
			emb := &mapEmbedder{vectors: map[string][]float32{}}
			for _, q := range qs {
				emb.vectors[q.text] = q.vec
			}
			mem, err := memory.New(memory.Options{Store: st, Embedder: emb})
			if err != nil {
				b.Fatal(err)
			}
			if err := mem.IndexNow(ctx, benchUser); err != nil { // settles the embedding space
				b.Fatal(err)
			}
			// Warm up: load the vector index and the page cache.
			if _, err := mem.Search(ctx, benchUser, qs[0].text, memory.SearchOptions{}); err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				q := qs[i%len(qs)]
				t0 := time.Now()
				res, err := mem.Search(ctx, benchUser, q.text, memory.SearchOptions{Limit: 10})
				if err != nil {
					b.Fatal(err)
				}
				if !res.Vector || len(res.Hits) == 0 {
					b.Fatalf("search: %+v", res)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(math.Min(float64(len(lat)-1), p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			if chunks == 100_000 {
				debug.FreeOSMemory() // count what the corpus holds, not the garbage of building it
				b.ReportMetric(memRSSMiB(), "rss-MiB")
			}
		})
	}
}

// rssMiB is the process's resident set size (Linux), or 0.
func memRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// mapEmbedder answers the benchmark's queries with their prepared vectors
// at once.
type mapEmbedder struct{ vectors map[string][]float32 }

func (e *mapEmbedder) Model() string   { return "bench" }
func (e *mapEmbedder) Dimensions() int { return benchDims }
func (e *mapEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := e.vectors[t]
		if !ok {
			return nil, fmt.Errorf("no vector for %q", t)
		}
		out[i] = v
	}
	return out, nil
}
