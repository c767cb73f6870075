// Package embed is an engine.Embedder over an OpenAI-compatible
// /v1/embeddings endpoint (OpenAI, Ollama, llama.cpp server, vLLM, LM
// Studio), built on the official SDK (github.com/openai/openai-go/v3).
//
// Texts are sent in batches; every answer is checked (one vector per text,
// finite values, the expected dimension), so that a misconfigured model
// fails with a clear error instead of storing vectors that cannot be
// compared. The dimension is the configured one, or learnt from the first
// answer (Probe) and held from then on.
//
// With Discover set and no Model, the client lists the server's models
// (GET /v1/models) on first use and takes the first whose name marks it as
// an embedding model ("embed", "bge", "e5-", "minilm", "gte-"): this is how
// Hearth uses the chat server's embeddings when only llm.base_url is set.
package embed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/engine"
)

// Defaults for Options.
const (
	DefaultBatchSize = 64
	DefaultTimeout   = 60 * time.Second
	// DefaultBaseURL is the hosted OpenAI API.
	DefaultBaseURL = "https://api.openai.com/v1"
)

// ErrNoModel: no model is configured and discovery found no embedding
// model on the server.
var ErrNoModel = errors.New("no embedding model")

// Options configure a Client.
type Options struct {
	// BaseURL is the API base ("http://127.0.0.1:11434/v1"); empty: the
	// hosted OpenAI API.
	BaseURL string
	// APIKey may be empty for local servers.
	APIKey string
	// Model is the embedding model. Empty requires Discover.
	Model string
	// Dimensions is the expected vector size, sent as the "dimensions"
	// parameter (which OpenAI's text-embedding-3 models honour and other
	// servers ignore); 0: learn it from the first answer.
	Dimensions int
	// Discover picks an embedding model from GET /v1/models when Model is
	// empty.
	Discover bool
	// BatchSize is the most texts per request (default 64).
	BatchSize int
	// Timeout bounds one request (default 60s).
	Timeout time.Duration
	// HTTPClient is used for every request; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives discovery results; nil discards.
	Logger *slog.Logger
}

// Client is an engine.Embedder. It is safe for concurrent use.
type Client struct {
	o      Options
	embeds openai.EmbeddingService
	models openai.ModelService
	log    *slog.Logger

	mu    sync.Mutex
	model string
	dims  int
}

var _ engine.Embedder = (*Client)(nil)

// New builds a client. It makes no request.
func New(o Options) (*Client, error) {
	if o.Model == "" && !o.Discover {
		return nil, fmt.Errorf("embed: %w configured (set embeddings.model)", ErrNoModel)
	}
	if o.Dimensions < 0 || o.BatchSize < 0 || o.Timeout < 0 {
		return nil, errors.New("embed: Dimensions, BatchSize and Timeout must not be negative")
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opts := []option.RequestOption{
		option.WithBaseURL(o.BaseURL),
		option.WithAPIKey(o.APIKey),
		option.WithHTTPClient(o.HTTPClient),
		option.WithMaxRetries(1),
		option.WithRequestTimeout(o.Timeout),
	}
	return &Client{
		o:      o,
		embeds: openai.NewEmbeddingService(opts...),
		models: openai.NewModelService(opts...),
		log:    o.Logger,
		model:  o.Model,
		dims:   o.Dimensions,
	}, nil
}

// Model is the embedding model ("" until discovered).
func (c *Client) Model() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.model
}

// Dimensions is the vector size (0 until configured or learnt).
func (c *Client) Dimensions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dims
}

// Probe makes sure the endpoint answers: it discovers the model when
// needed and embeds one short text, learning the dimension. It returns
// the space of the vectors.
func (c *Client) Probe(ctx context.Context) (engine.EmbeddingSpace, error) {
	if _, err := c.Embed(ctx, []string{"dimension probe"}); err != nil {
		return engine.EmbeddingSpace{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return engine.EmbeddingSpace{Model: c.model, Dimensions: c.dims}, nil
}

// Embed returns one vector per text, in order.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	model, err := c.ensureModel(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.o.BatchSize {
		batch := texts[start:min(start+c.o.BatchSize, len(texts))]
		vs, err := c.embedBatch(ctx, model, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (c *Client) embedBatch(ctx context.Context, model string, batch []string) ([][]float32, error) {
	params := openai.EmbeddingNewParams{
		Model:          model,
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: batch},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	}
	if c.o.Dimensions > 0 {
		params.Dimensions = openai.Int(int64(c.o.Dimensions))
	}
	res, err := c.embeds.New(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("embed: %s at %s: %w", model, c.o.BaseURL, describe(err))
	}
	if len(res.Data) != len(batch) {
		return nil, fmt.Errorf("embed: %s answered %d vectors for %d texts", model, len(res.Data), len(batch))
	}
	data := slices.Clone(res.Data)
	slices.SortStableFunc(data, func(a, b openai.Embedding) int { return int(a.Index - b.Index) })
	out := make([][]float32, len(data))
	for i, d := range data {
		if int(d.Index) != i {
			return nil, fmt.Errorf("embed: %s answered vector indexes out of range (%d at %d)", model, d.Index, i)
		}
		v := make([]float32, len(d.Embedding))
		for j, f := range d.Embedding {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("embed: %s answered a non-finite value in vector %d", model, i)
			}
			v[j] = float32(f)
		}
		if err := c.checkDims(model, len(v)); err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkDims holds every vector to the configured or first-seen dimension.
func (c *Client) checkDims(model string, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("embed: %s answered an empty vector", model)
	}
	if c.dims == 0 {
		c.dims = n
		return nil
	}
	if n != c.dims {
		how := "learnt from its first answer"
		if c.o.Dimensions > 0 {
			how = "configured in embeddings.dimensions"
		}
		return fmt.Errorf("embed: %s answered vectors of %d dimensions, expected %d (%s): %w",
			model, n, c.dims, how, engine.ErrDimensionMismatch)
	}
	return nil
}

// ensureModel returns the model, discovering it once when needed.
func (c *Client) ensureModel(ctx context.Context) (string, error) {
	c.mu.Lock()
	model := c.model
	c.mu.Unlock()
	if model != "" {
		return model, nil
	}
	page, err := c.models.List(ctx)
	if err != nil {
		return "", fmt.Errorf("embed: listing the models of %s: %w", c.o.BaseURL, describe(err))
	}
	var names []string
	for _, m := range page.Data {
		names = append(names, m.ID)
	}
	model = PickModel(names)
	if model == "" {
		return "", fmt.Errorf("embed: %s offers no embedding model among %d models (set embeddings.model): %w",
			c.o.BaseURL, len(names), ErrNoModel)
	}
	c.log.Info("embedding model discovered", "base_url", c.o.BaseURL, "model", model)
	c.mu.Lock()
	if c.model == "" {
		c.model = model
	}
	model = c.model
	c.mu.Unlock()
	return model, nil
}

// embeddingMarks are name fragments of common embedding models.
var embeddingMarks = []string{"embed", "bge", "e5-", "minilm", "gte-"}

// PickModel returns the first name that looks like an embedding model, or
// "".
func PickModel(names []string) string {
	for _, n := range names {
		l := strings.ToLower(n)
		for _, m := range embeddingMarks {
			if strings.Contains(l, m) {
				return n
			}
		}
	}
	return ""
}

// describe shortens SDK errors to the status and message, never the key.
func describe(err error) error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if msg == "" {
			msg = http.StatusText(apiErr.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", apiErr.StatusCode, msg)
	}
	return err
}
