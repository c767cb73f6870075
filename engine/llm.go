package engine

import (
	"context"
	"encoding/json"
)

// Role is the author of a chat message.
type Role string

// Chat roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// ToolCall is a model's request to run a tool.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ChatMessage is one entry of a conversation as sent to an LLM.
type ChatMessage struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// Name is the tool's name on RoleTool messages.
	Name string `json:"name,omitempty"`
}

// ToolSpec is what the model is told about a tool.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ChatRequest is one call to a model.
type ChatRequest struct {
	// Model overrides the provider's configured model when set.
	Model       string
	System      string
	Messages    []ChatMessage
	Tools       []ToolSpec
	MaxTokens   int
	Temperature *float64
	// OnDelta, when set, asks the provider to stream: it is called with
	// each piece of assistant text as it arrives, from one goroutine.
	OnDelta func(delta string)
}

// Usage counts tokens of one call.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{InputTokens: u.InputTokens + o.InputTokens, OutputTokens: u.OutputTokens + o.OutputTokens}
}

// ChatResponse is a model's complete answer (streamed or not).
type ChatResponse struct {
	Message      ChatMessage
	Usage        Usage
	FinishReason string
	Model        string
	// Provider names the provider that answered (after failover).
	Provider string
}

// LLM is a chat model with tool calling. Providers live in engine/llm/...
type LLM interface {
	Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error)
}

// ModelNamer is an LLM that can say which model it uses by default.
type ModelNamer interface {
	ModelName() string
}

// Embedder turns texts into vectors (memory issue).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model and Dimensions identify the vector space.
	Model() string
	Dimensions() int
}
