package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// Memory benchmarks on a synthetic corpus: chunks of about 100 words drawn
// from a Zipf distribution over a 10,000-word vocabulary, with clustered
// 384-dimension vectors (64 centres, as memory/vecindex's benchmark), in
// documents of 100 chunks, all of one user. A corpus is built once per
// size in its own schema (bench_mem_N) and kept on the test server, so
// that later runs start at once; drop the schemas to rebuild.
//
//	go test -run '^$' -bench 'Memory' -benchtime 200x ./memory/postgres/
//
// HEARTH_BENCH_VECTOR_INDEX=ivfflat runs them with an IVFFlat vector index
// instead of the default HNSW (corpora in schemas bench_mem_N_ivfflat).

const (
	benchDims      = 384
	benchPerDoc    = 100
	benchWords     = 100
	benchVocab     = 10_000
	benchCentres   = 64
	benchSpaceName = "bench-embed"
)

var benchSpace = engine.EmbeddingSpace{Model: benchSpaceName, Dimensions: benchDims}

// benchCorpus generates chunk i's text and vector deterministically: the
// vector is one of the corpus's centres plus Gaussian noise.
type benchCorpus struct {
	name    string // "" for the default corpus; part of its schema's name
	centres [][]float32
	noise   float32
}

func newBenchCorpus() *benchCorpus { return newCorpus("", benchCentres, 0.8) }

// newLooseCorpus is a harder corpus for the vector index: 1,000 loose
// clusters, where a query's nearest neighbours are spread over many.
func newLooseCorpus() *benchCorpus { return newCorpus("loose", 1000, 2.0) }

func newCorpus(name string, centres int, noise float32) *benchCorpus {
	r := rand.New(rand.NewPCG(1, 1))
	c := &benchCorpus{name: name, centres: make([][]float32, centres), noise: noise}
	for i := range c.centres {
		c.centres[i] = make([]float32, benchDims)
		for d := range benchDims {
			c.centres[i][d] = float32(r.NormFloat64())
		}
	}
	return c
}

func benchWord(rank uint64) string { return "w" + strconv.FormatUint(rank, 36) }

// chunk returns chunk i: its text and vector.
func (c *benchCorpus) chunk(i int) (string, []float32) {
	r := rand.New(rand.NewPCG(uint64(i), 2))
	z := rand.NewZipf(r, 1.1, 2, benchVocab-1)
	words := make([]string, benchWords)
	for j := range words {
		words[j] = benchWord(z.Uint64())
	}
	centre := c.centres[r.IntN(len(c.centres))]
	v := make([]float32, benchDims)
	for d := range v {
		v[d] = centre[d] + float32(r.NormFloat64())*c.noise
	}
	return strings.Join(words, " "), v
}

// query returns query q: two or three mid-frequency words and a vector
// near a random stored chunk of a corpus of n.
func (c *benchCorpus) query(q, n int) (string, []float32) {
	r := rand.New(rand.NewPCG(uint64(q), 3))
	words := make([]string, 2+r.IntN(2))
	for i := range words {
		words[i] = benchWord(uint64(50 + r.IntN(950)))
	}
	_, src := c.chunk(r.IntN(n))
	v := make([]float32, benchDims)
	for d := range v {
		v[d] = src[d] + float32(r.NormFloat64())*0.6
	}
	return strings.Join(words, " "), v
}

// corpusStore opens a store on the schema holding a corpus of n chunks,
// building it first when missing, and reports the build's throughput.
func corpusStore(b testing.TB, n int) (*postgres.Store, *benchCorpus) {
	b.Helper()
	return openCorpus(b, newBenchCorpus(), n, false)
}

// openCorpus is corpusStore for corpus c, the store without an absorber
// when noAbsorber is set. The corpus's vectors are all in the index when
// it returns.
func openCorpus(b testing.TB, c *benchCorpus, n int, noAbsorber bool) (*postgres.Store, *benchCorpus) {
	b.Helper()
	ctx := context.Background()
	u := corpusURL(b, c, n)
	s, err := postgres.Open(ctx, u.String(), postgres.Options{VectorIndex: benchKind(), NoAbsorber: noAbsorber})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	// The corpus's own vectors (documents under corpus/): those of other
	// benchmarks' documents, written and deleted as they run, perhaps in
	// another process, do not count.
	var have int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM chunk_vectors
		WHERE user_id = 'bench' AND starts_with(path, 'corpus/')`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == n {
		if _, err := s.AbsorbVectors(ctx, 0); err != nil {
			b.Fatal(err)
		}
		return s, c
	}
	b.Logf("building a corpus of %d chunks in schema %s", n, u.Query().Get("search_path"))
	admin(b, u.String(), `TRUNCATE users, documents, chunks CASCADE`)
	if err := s.CreateUser(ctx, engine.User{ID: "bench", Name: "Bench", Role: engine.RoleOwner}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(ctx, benchSpace); err != nil {
		b.Fatal(err)
	}
	el, err := writeCorpus(ctx, s, c, 0, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed %d chunks with vectors in %v of store time: %.0f chunks/s", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	t0 := time.Now()
	if _, err := s.AbsorbVectors(ctx, 0); err != nil {
		b.Fatal(err)
	}
	b.Logf("the backlog absorbed %v after the last write", time.Since(t0).Round(time.Millisecond))
	admin(b, u.String(), `VACUUM ANALYZE chunks`)
	admin(b, u.String(), `VACUUM ANALYZE chunk_vectors`)
	admin(b, u.String(), `VACUUM ANALYZE documents`)
	return s, c
}

// benchKind is the vector index kind the benchmarks use.
func benchKind() string { return os.Getenv("HEARTH_BENCH_VECTOR_INDEX") }

// corpusURL creates, when missing, the schema of corpus c of n chunks (of
// the benchmarks' vector index kind) and returns a URL working in it.
func corpusURL(b testing.TB, c *benchCorpus, n int) *url.URL {
	b.Helper()
	base := baseURL(b)
	schema := fmt.Sprintf("bench_mem_%d", n)
	if c.name != "" {
		schema += "_" + c.name
	}
	if kind := benchKind(); kind != "" {
		schema += "_" + kind
	}
	admin(b, base, `CREATE SCHEMA IF NOT EXISTS `+schema)
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u
}

// writeCorpus writes chunks [from, to) as documents of benchPerDoc chunks
// and returns the time spent in the store (generating the corpus left out).
func writeCorpus(ctx context.Context, s *postgres.Store, c *benchCorpus, from, to int) (time.Duration, error) {
	return writeDocs(ctx, s, c, "corpus/", from, to)
}

// writeDocs is writeCorpus with documents under prefix.
func writeDocs(ctx context.Context, s *postgres.Store, c *benchCorpus, prefix string, from, to int) (time.Duration, error) {
	var spent time.Duration
	for first := from; first < to; first += benchPerDoc {
		last := min(first+benchPerDoc, to)
		path := fmt.Sprintf("%s%07d.md", prefix, first)
		chunks := make([]engine.Chunk, 0, last-first)
		off := 0
		for i := first; i < last; i++ {
			text, v := c.chunk(i)
			chunks = append(chunks, engine.Chunk{Text: text, Start: off, End: off + len(text), Hash: strconv.Itoa(i), Embedding: v})
			off += len(text) + 1
		}
		t0 := time.Now()
		d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "bench", Path: path, Content: "corpus"})
		if err != nil {
			return spent, err
		}
		if err := s.ReplaceChunks(ctx, "bench", path, d.Version, chunks); err != nil {
			return spent, err
		}
		spent += time.Since(t0)
	}
	return spent, nil
}

// latencies records per-call durations and reports percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(p float64) float64 {
		return float64(l[min(len(l)-1, int(math.Ceil(p*float64(len(l))))-1)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// searchCase is a corpus size for the search benchmarks, with staged
// vectors of the searching user (written by a store without an absorber,
// so that they stay staged: compared exactly by every search).
type searchCase struct {
	n, staged int
}

func (c searchCase) name() string {
	if c.staged > 0 {
		return fmt.Sprintf("%d-staged%d", c.n, c.staged)
	}
	return strconv.Itoa(c.n)
}

var (
	benchSizes  = []searchCase{{n: 1_000}, {n: 10_000}, {n: 100_000}}
	stagedCases = append(slices.Clone(benchSizes), searchCase{n: 100_000, staged: 5_000})
)

// freshChunks returns the number of a run of new chunks, beyond the
// corpus and different in every run: a vector written again after its
// chunk was deleted may still be in the index (until VACUUM), and HNSW
// merely adds a duplicate to its element, which would make inserts look
// several times cheaper than they are.
func freshChunks() int { return 1_000_000 + rand.IntN(1<<30) }

func benchSearch(b *testing.B, cases []searchCase, search func(ctx context.Context, s *postgres.Store, q string, v []float32) (int, error)) {
	for _, sc := range cases {
		b.Run(sc.name(), func(b *testing.B) {
			n := sc.n
			s, c := openCorpus(b, newBenchCorpus(), n, sc.staged > 0)
			ctx := context.Background()
			if sc.staged > 0 {
				// VACUUM so that the full-text index's pending entries of
				// the new chunks, which are not this benchmark's concern,
				// neither slow these searches nor the next benchmark's.
				b.Cleanup(func() {
					deleteDocs(s, "staged/")
					vacuum(b, s)
				})
				first := freshChunks()
				if _, err := writeDocs(ctx, s, c, "staged/", first, first+sc.staged); err != nil {
					b.Fatal(err)
				}
				if got, err := s.StagedVectors(ctx, "bench"); err != nil || got < int64(sc.staged) {
					b.Fatalf("%d staged vectors, %v; want %d", got, err, sc.staged)
				}
				vacuum(b, s)
			}
			// Warm the caches as a running server would be.
			for i := range 20 {
				q, v := c.query(i, n)
				if _, err := search(ctx, s, q, v); err != nil {
					b.Fatal(err)
				}
			}
			lat := make(latencies, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q, v := c.query(1000+i, n)
				t0 := time.Now()
				hits, err := search(ctx, s, q, v)
				lat = append(lat, time.Since(t0))
				if err != nil || hits == 0 {
					b.Fatalf("query %q: %d hits, %v", q, hits, err)
				}
			}
			b.StopTimer()
			lat.report(b)
		})
	}
}

// vacuum runs VACUUM ANALYZE on the memory tables of s.
func vacuum(b testing.TB, s *postgres.Store) {
	b.Helper()
	for _, table := range []string{"chunks", "chunk_vectors", "documents"} {
		if _, err := s.Pool().Exec(context.Background(), `VACUUM ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
	}
}

// deleteDocs deletes the bench user's documents under prefix.
func deleteDocs(s *postgres.Store, prefix string) {
	ctx := context.Background()
	docs, _ := s.ListDocuments(ctx, "bench", prefix)
	for _, d := range docs {
		_ = s.DeleteDocument(ctx, "bench", d.Path)
	}
}

// BenchmarkMemoryHybridSearch: full text and vectors fused in SQL (10 hits
// of 40 candidates per method, k = 60: memory's defaults).
func BenchmarkMemoryHybridSearch(b *testing.B) {
	benchSearch(b, stagedCases, func(ctx context.Context, s *postgres.Store, q string, v []float32) (int, error) {
		hits, err := s.HybridSearch(ctx, "bench", q, v, engine.HybridOptions{
			SearchOptions: engine.SearchOptions{Limit: 10}, K: 60, Candidates: 40})
		return len(hits), err
	})
}

func BenchmarkMemoryFullTextSearch(b *testing.B) {
	benchSearch(b, benchSizes, func(ctx context.Context, s *postgres.Store, q string, _ []float32) (int, error) {
		hits, err := s.FullTextSearch(ctx, "bench", q, engine.SearchOptions{Limit: 40})
		return len(hits), err
	})
}

func BenchmarkMemoryVectorSearch(b *testing.B) {
	benchSearch(b, stagedCases, func(ctx context.Context, s *postgres.Store, _ string, v []float32) (int, error) {
		hits, err := s.VectorSearch(ctx, "bench", v, engine.SearchOptions{Limit: 40})
		return len(hits), err
	})
}

// BenchmarkMemoryIndexChunks measures indexing throughput excluding the
// embedding call: documents of 100 chunks written into the 100,000-chunk
// corpus (WriteDocument, then ReplaceChunks) with their vectors ("vectors":
// text whose vectors the embedding cache has), without ("text": full text
// only), and without, then given their vectors as memory's embedding loop
// does for new text ("embed-later": ChunksToEmbed and SetEmbeddings).
// chunks/s counts the chunks written, and searchable (their vectors
// staged, compared exactly by searches), per second, the store's absorber
// running beside the writes as in a server; absorbed-chunks/s counts them
// until the last vector is in the index as well (the backlog absorbed
// after the writes). The documents are deleted, and the tables vacuumed,
// afterwards. The corpus build logs the throughput of the whole build.
func BenchmarkMemoryIndexChunks(b *testing.B) {
	for _, mode := range []string{"vectors", "text", "embed-later"} {
		b.Run(mode, func(b *testing.B) { benchIndex(b, mode) })
	}
}

func benchIndex(b *testing.B, mode string) {
	s, c := corpusStore(b, 100_000)
	ctx := context.Background()
	b.Cleanup(func() {
		deleteDocs(s, "extra/")
		vacuum(b, s)
	})
	first := freshChunks()
	docs := make([][]engine.Chunk, b.N)
	vecs := make([][][]float32, b.N)
	for i := range docs {
		docs[i] = make([]engine.Chunk, benchPerDoc)
		vecs[i] = make([][]float32, benchPerDoc)
		for j := range docs[i] {
			text, v := c.chunk(first + i*benchPerDoc + j)
			vecs[i][j] = v
			if mode != "vectors" {
				v = nil
			}
			docs[i][j] = engine.Chunk{Text: text, Hash: strconv.Itoa(j), End: len(text), Embedding: v}
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i, chunks := range docs {
		path := fmt.Sprintf("extra/%07d.md", i)
		d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "bench", Path: path, Content: "extra"})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ReplaceChunks(ctx, "bench", path, d.Version, chunks); err != nil {
			b.Fatal(err)
		}
		if mode != "embed-later" {
			continue
		}
		todo, err := s.ChunksToEmbed(ctx, "bench", benchPerDoc)
		if err != nil || len(todo) != benchPerDoc {
			b.Fatalf("ChunksToEmbed: %d chunks, %v", len(todo), err)
		}
		embs := make([]engine.ChunkEmbedding, len(todo))
		for j, t := range todo {
			embs[j] = engine.ChunkEmbedding{ChunkID: t.ID, Vector: vecs[i][t.Seq]}
		}
		if err := s.SetEmbeddings(ctx, "bench", embs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchPerDoc)/time.Since(start).Seconds(), "chunks/s")
	if mode != "text" {
		reportAbsorbed(b, s, b.N*benchPerDoc, start)
	}
}

// reportAbsorbed waits for the backlog to be absorbed (absorbing beside
// the store's own absorber) and reports n chunks over the time since
// start as absorbed-chunks/s.
func reportAbsorbed(b *testing.B, s *postgres.Store, n int, start time.Time) {
	b.Helper()
	ctx := context.Background()
	postgres.WaitFor(b, "the backlog to be absorbed", time.Millisecond, 30*time.Minute, func() bool {
		// What the absorber is moving is left to it: wait for it.
		if _, err := s.AbsorbVectors(ctx, 0); err != nil {
			b.Fatal(err)
		}
		left, err := s.StagedVectors(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		return left == 0
	})
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "absorbed-chunks/s")
}

// BenchmarkMemoryAbsorb measures the absorber's own throughput at 100,000
// vectors: b.N documents of 100 chunks with vectors are staged (by a store
// without an absorber, untimed), then AbsorbVectors moves them into the
// vector index, one transaction per absorbBatch vectors, as the absorber
// does: in one store ("1"), or in two at once ("2": two processes'
// absorbers sharing the backlog).
func BenchmarkMemoryAbsorb(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(strconv.Itoa(workers), func(b *testing.B) { benchAbsorb(b, workers) })
	}
}

func benchAbsorb(b *testing.B, workers int) {
	s, c := openCorpus(b, newBenchCorpus(), 100_000, true)
	ctx := context.Background()
	b.Cleanup(func() {
		deleteDocs(s, "absorb/")
		vacuum(b, s)
	})
	stores := []*postgres.Store{s}
	for range workers - 1 {
		o, err := postgres.Open(ctx, corpusURL(b, c, 100_000).String(), postgres.Options{NoAbsorber: true, VectorIndex: benchKind()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = o.Close() })
		stores = append(stores, o)
	}
	first := freshChunks()
	if _, err := writeDocs(ctx, s, c, "absorb/", first, first+b.N*benchPerDoc); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() { counts[i], errs[i] = st.AbsorbVectors(ctx, 0) })
	}
	wg.Wait()
	el := time.Since(start)
	total := 0
	for i, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
		total += counts[i]
	}
	if total != b.N*benchPerDoc {
		b.Fatalf("absorbed %v, want %d in all", counts, b.N*benchPerDoc)
	}
	b.ReportMetric(float64(total)/el.Seconds(), "chunks/s")
}

// BenchmarkMemoryIndexSmallDocs measures indexing of documents of 4
// chunks (notes, daily entries) with their vectors into the
// 100,000-chunk corpus: one ReplaceChunks per document ("each"), or 32
// documents per ReplaceChunksBatch, as memory's indexer does ("batch").
// The documents are written before the timer starts.
func BenchmarkMemoryIndexSmallDocs(b *testing.B) {
	for _, batch := range []int{1, 32} {
		name := "each"
		if batch > 1 {
			name = "batch"
		}
		b.Run(name, func(b *testing.B) { benchSmallDocs(b, batch) })
	}
}

func benchSmallDocs(b *testing.B, batch int) {
	const perDoc = 4
	s, c := corpusStore(b, 100_000)
	ctx := context.Background()
	b.Cleanup(func() {
		deleteDocs(s, "small/")
		vacuum(b, s)
	})
	first := freshChunks()
	n := b.N * batch
	docs := make([]engine.Document, n)
	chunks := make([][]engine.Chunk, n)
	for i := range docs {
		d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "bench", Path: fmt.Sprintf("small/%07d.md", i), Content: "small"})
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = d
		for j := range perDoc {
			text, v := c.chunk(first + i*perDoc + j)
			chunks[i] = append(chunks[i], engine.Chunk{Text: text, Hash: strconv.Itoa(j), End: len(text), Embedding: v})
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i += batch {
		if batch == 1 {
			if err := s.ReplaceChunks(ctx, "bench", docs[i].Path, docs[i].Version, chunks[i]); err != nil {
				b.Fatal(err)
			}
			continue
		}
		errs, err := s.ReplaceChunksBatch(ctx, "bench", docs[i:i+batch], chunks[i:i+batch])
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*perDoc)/time.Since(start).Seconds(), "chunks/s")
	reportAbsorbed(b, s, n*perDoc, start)
}
