// Package vecindex is an in-memory, quantized vector index for cosine
// similarity search, small enough to keep one per user in RAM and fast
// enough to scan 100,000 vectors in a few milliseconds.
//
// Every vector is normalised and kept twice, compactly: as one sign bit
// per dimension (48 bytes at 384 dimensions) and as int8 values with one
// scale factor (384 bytes). A search ranks every vector by the Hamming
// distance of its sign bits to the query's (a few popcounts each), keeps
// closest few thousand (the shortlist), scores those with the int8 values and returns
// the best. The caller rescores the returned candidates with the exact
// float32 vectors it stores (memory/sqlite reads them from the database),
// so the approximations only decide which candidates are looked at.
// Indexes no larger than the shortlist skip the sign-bit stage, so
// small indexes are searched exhaustively.
//
// An Index is not safe for concurrent use; callers serialise access (or
// use it read-only from several goroutines once built).
package vecindex

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// DefaultShortlist is the least number of sign-bit candidates scored
// with int8 values when New's shortlist is zero; larger indexes score a
// twentieth of their vectors (5,000 of 100,000).
const DefaultShortlist = 2048

// Candidate is a search result with its approximate cosine similarity.
type Candidate struct {
	ID    int64
	Score float32
}

// Index holds vectors of one dimension by id.
type Index struct {
	dims      int
	words     int // uint64 words of sign bits per vector
	shortlist int

	ids   []int64
	signs []uint64  // len(ids)*words
	q     []int8    // len(ids)*dims
	scale []float32 // per vector: value = q * scale
	slot  map[int64]int
}

// New returns an empty index of vectors of dims dimensions. shortlist is
// the number of sign-bit candidates scored with int8 values per search
// (0: adaptive, see DefaultShortlist).
func New(dims, shortlist int) (*Index, error) {
	if dims <= 0 {
		return nil, fmt.Errorf("vecindex: dimensions must be positive, got %d", dims)
	}
	if shortlist < 0 {
		return nil, fmt.Errorf("vecindex: shortlist must not be negative, got %d", shortlist)
	}
	return &Index{dims: dims, words: (dims + 63) / 64, shortlist: shortlist, slot: map[int64]int{}}, nil
}

// shortlistSize is the number of sign-bit candidates of a search.
func (x *Index) shortlistSize() int {
	if x.shortlist > 0 {
		return x.shortlist
	}
	return max(DefaultShortlist, len(x.ids)/20)
}

// Dims is the dimension of the index's vectors.
func (x *Index) Dims() int { return x.dims }

// Len is the number of vectors held.
func (x *Index) Len() int { return len(x.ids) }

// Bytes estimates the memory the index holds, in bytes.
func (x *Index) Bytes() int {
	n := len(x.ids)
	// ids, signs, int8 values, scales, and about 48 bytes per map entry.
	return n*8 + n*x.words*8 + n*x.dims + n*4 + n*48
}

// Set adds v under id, replacing an earlier vector of the same id. A zero
// vector is stored as is and scores 0 against everything.
func (x *Index) Set(id int64, v []float32) error {
	if len(v) != x.dims {
		return fmt.Errorf("vecindex: vector of %d dimensions in an index of %d", len(v), x.dims)
	}
	i, ok := x.slot[id]
	if !ok {
		i = len(x.ids)
		x.slot[id] = i
		x.ids = append(x.ids, id)
		x.signs = append(x.signs, make([]uint64, x.words)...)
		x.q = append(x.q, make([]int8, x.dims)...)
		x.scale = append(x.scale, 0)
	}
	x.encode(i, v)
	return nil
}

// encode writes the normalised, quantised v into slot i.
func (x *Index) encode(i int, v []float32) {
	var norm, maxAbs float64
	for _, f := range v {
		norm += float64(f) * float64(f)
	}
	norm = math.Sqrt(norm)
	signs := x.signs[i*x.words : (i+1)*x.words]
	clear(signs)
	q := x.q[i*x.dims : (i+1)*x.dims]
	if norm == 0 {
		clear(q)
		x.scale[i] = 0
		return
	}
	for d, f := range v {
		if f > 0 {
			signs[d/64] |= 1 << (d % 64)
		}
		maxAbs = math.Max(maxAbs, math.Abs(float64(f)/norm))
	}
	s := maxAbs / 127
	for d, f := range v {
		q[d] = int8(math.Round(float64(f) / norm / s))
	}
	x.scale[i] = float32(s)
}

// Remove deletes id's vector; removing an absent id does nothing.
func (x *Index) Remove(id int64) {
	i, ok := x.slot[id]
	if !ok {
		return
	}
	last := len(x.ids) - 1
	if i != last {
		x.ids[i] = x.ids[last]
		x.slot[x.ids[i]] = i
		copy(x.signs[i*x.words:(i+1)*x.words], x.signs[last*x.words:])
		copy(x.q[i*x.dims:(i+1)*x.dims], x.q[last*x.dims:])
		x.scale[i] = x.scale[last]
	}
	delete(x.slot, id)
	x.ids = x.ids[:last]
	x.signs = x.signs[:last*x.words]
	x.q = x.q[:last*x.dims]
	x.scale = x.scale[:last]
}

// Has reports whether id has a vector.
func (x *Index) Has(id int64) bool {
	_, ok := x.slot[id]
	return ok
}

// Search returns up to n candidates closest to query by approximate
// cosine similarity, best first (ties by id). keep, when not nil, limits
// the search to the ids it accepts. A query of the wrong dimension is an
// error; a zero query returns no candidates.
func (x *Index) Search(query []float32, n int, keep func(id int64) bool) ([]Candidate, error) {
	if len(query) != x.dims {
		return nil, fmt.Errorf("vecindex: query of %d dimensions in an index of %d", len(query), x.dims)
	}
	if n <= 0 || len(x.ids) == 0 {
		return nil, nil
	}
	var norm float64
	for _, f := range query {
		norm += float64(f) * float64(f)
	}
	if norm == 0 {
		return nil, nil
	}
	inv := float32(1 / math.Sqrt(norm))
	qn := make([]float32, x.dims)
	qsigns := make([]uint64, x.words)
	for d, f := range query {
		qn[d] = f * inv
		if f > 0 {
			qsigns[d/64] |= 1 << (d % 64)
		}
	}
	slots := x.shortlistSlots(qsigns, keep)
	cands := make([]Candidate, 0, len(slots))
	for _, i := range slots {
		cands = append(cands, Candidate{ID: x.ids[i], Score: x.dot(i, qn)})
	}
	slices.SortFunc(cands, func(a, b Candidate) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	if len(cands) > n {
		cands = cands[:n]
	}
	return cands, nil
}

// shortlistSlots returns the slots to score: every accepted slot when
// there are at most shortlist of them, else the shortlist slots with the
// smallest Hamming distance to qsigns.
func (x *Index) shortlistSlots(qsigns []uint64, keep func(int64) bool) []int {
	n := len(x.ids)
	size := x.shortlistSize()
	if n <= size {
		out := make([]int, 0, n)
		for i := range n {
			if keep == nil || keep(x.ids[i]) {
				out = append(out, i)
			}
		}
		return out
	}
	// Distances fit in uint16 (at most dims); a histogram finds the
	// distance threshold of the shortlist in one more pass.
	const skip = math.MaxUint16
	dist := make([]uint16, n)
	hist := make([]int, x.dims+2)
	w := x.words
	for i := range n {
		if keep != nil && !keep(x.ids[i]) {
			dist[i] = skip
			continue
		}
		s := x.signs[i*w : (i+1)*w]
		d := 0
		for k, q := range qsigns {
			d += bits.OnesCount64(s[k] ^ q)
		}
		dist[i] = uint16(d)
		hist[d]++
	}
	threshold, total := 0, 0
	for ; threshold <= x.dims; threshold++ {
		total += hist[threshold]
		if total >= size {
			break
		}
	}
	out := make([]int, 0, size)
	// All slots strictly below the threshold, then slots at it until full.
	for i, d := range dist {
		if int(d) < threshold {
			out = append(out, i)
		}
	}
	for i, d := range dist {
		if len(out) >= size {
			break
		}
		if int(d) == threshold {
			out = append(out, i)
		}
	}
	return out
}

// dot is the approximate cosine of slot i with the normalised query.
func (x *Index) dot(i int, qn []float32) float32 {
	q := x.q[i*x.dims : (i+1)*x.dims]
	q = q[:len(qn)]
	var s0, s1, s2, s3 float32
	d := 0
	for ; d+4 <= len(qn); d += 4 {
		s0 += float32(q[d]) * qn[d]
		s1 += float32(q[d+1]) * qn[d+1]
		s2 += float32(q[d+2]) * qn[d+2]
		s3 += float32(q[d+3]) * qn[d+3]
	}
	for ; d < len(qn); d++ {
		s0 += float32(q[d]) * qn[d]
	}
	return (s0 + s1 + s2 + s3) * x.scale[i]
}

// Cosine is the exact cosine similarity of two vectors of equal length
// (0 when either is zero).
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
