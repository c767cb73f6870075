package fakellm

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"unicode"
)

// DefaultDimensions is the embedding size the fake returns unless told otherwise.
const DefaultDimensions = 384

// EmbedRequest is one /v1/embeddings call.
type EmbedRequest struct {
	Model  string
	Inputs []string
	// Dimensions is the "dimensions" parameter, 0 when absent.
	Dimensions int
	APIKey     string
}

// EmbedReply is how the fake answers an embeddings call. With Vectors nil
// (and no error) the deterministic Vector of each input is returned.
type EmbedReply struct {
	Vectors [][]float32
	Status  int
	Headers map[string]string
	Raw     string
	// ContentType is sent with Raw (default application/json).
	ContentType string
	Hang        bool
}

// Embedder decides the answer to one embeddings call.
type Embedder func(req EmbedRequest) EmbedReply

// SetEmbeddingDim sets the dimension of the default vectors (used when the
// request has no "dimensions" parameter).
func (f *OpenAI) SetEmbeddingDim(n int) {
	f.emu.Lock()
	f.dim = n
	f.emu.Unlock()
}

// SetEmbedder replaces the default embeddings behaviour (for errors, a
// wrong dimension, a hang).
func (f *OpenAI) SetEmbedder(e Embedder) {
	f.emu.Lock()
	f.embedder = e
	f.emu.Unlock()
}

// EmbedRequests returns every embeddings call received so far.
func (f *OpenAI) EmbedRequests() []EmbedRequest {
	f.emu.Lock()
	defer f.emu.Unlock()
	return append([]EmbedRequest(nil), f.embeds...)
}

// Vector is the deterministic embedding the fake returns for text: a
// feature-hashed bag of lower-cased words, normalized to unit length. Texts
// that share words have a positive cosine similarity, identical texts an
// identical vector, so ranking tests behave sensibly.
func Vector(text string, dim int) []float32 {
	if dim <= 0 {
		return nil
	}
	v := make([]float64, dim)
	toks := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(toks) == 0 {
		toks = []string{text}
	}
	for _, tok := range toks {
		h := fnv.New64a()
		_, _ = h.Write([]byte(tok))
		sum := h.Sum64()
		sign := 1.0
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%uint64(dim)] += sign
		v[(sum>>32)%uint64(dim)] += sign / 2
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dim)
	for i, x := range v {
		if norm > 0 {
			out[i] = float32(x / norm)
		}
	}
	return out
}

func (f *OpenAI) embeddings(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		Input          json.RawMessage `json:"input"`
		Model          string          `json:"model"`
		Dimensions     int             `json:"dimensions"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.violation(w, "embeddings: invalid JSON: %v", err)
		return
	}
	inputs, err := embedInputs(in.Input)
	if err != nil || in.Model == "" {
		if err == nil {
			err = fmt.Errorf("model is missing")
		}
		f.violation(w, "embeddings: %v", err)
		return
	}
	req := EmbedRequest{Model: in.Model, Inputs: inputs, Dimensions: in.Dimensions}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.APIKey = strings.TrimPrefix(auth, "Bearer ")
	}
	f.emu.Lock()
	f.embeds = append(f.embeds, req)
	embedder, dim := f.embedder, f.dim
	f.emu.Unlock()
	if in.Dimensions > 0 {
		dim = in.Dimensions
	}
	var reply EmbedReply
	if embedder != nil {
		reply = embedder(req)
	}
	if reply.Hang {
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
		return
	}
	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
	if writeRaw(w, Reply{Raw: reply.Raw, Status: reply.Status, ContentType: reply.ContentType}) {
		return
	}
	if reply.Status != 0 && (reply.Status < 200 || reply.Status > 299) {
		oaError(w, reply.Status)
		return
	}
	vectors := reply.Vectors
	if vectors == nil {
		vectors = make([][]float32, len(inputs))
		for i, text := range inputs {
			vectors[i] = Vector(text, dim)
		}
	}
	data := make([]any, len(vectors))
	tokens := 0
	for i, vec := range vectors {
		var emb any = vec
		if in.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, x := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	for _, text := range inputs {
		tokens += words(text)
	}
	writeJSON(w, map[string]any{
		"object": "list", "data": data, "model": in.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// embedInputs reads "input": a string or an array of strings.
func embedInputs(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("input must be a string or an array of strings")
	}
	if len(many) == 0 {
		return nil, fmt.Errorf("input is empty")
	}
	return many, nil
}
