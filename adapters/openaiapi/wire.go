package openaiapi

import (
	"encoding/json"
	"net/http"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// The OpenAI wire format: what the official SDKs decode.

// completion is the body of a non-streaming chat completion.
type completion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"` // "chat.completion"
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []choice `json:"choices"`
	Usage             usage    `json:"usage"`
	SystemFingerprint *string  `json:"system_fingerprint"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	Logprobs     *struct{}       `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type responseMessage struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// chunk is one chat.completion.chunk event of a stream.
type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when the client asked
	// for usage (stream_options.include_usage), and absent otherwise.
	Usage json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// model is one entry of GET /v1/models.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string  `json:"object"` // "list"
	Data   []model `json:"data"`
}

// apiError is OpenAI's error object: {"error": {...}}.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

// Error types and codes used in answers.
const (
	typeInvalidRequest = "invalid_request_error"
	typePermission     = "permission_error"
	typeServer         = "server_error"

	codeInvalidAPIKey = "invalid_api_key"
	codeModelNotFound = "model_not_found"
	codeTimeout       = "timeout"
	codeTurnFailed    = "turn_failed"
	codeUnavailable   = "unavailable"
)

// fault is an error answer: the HTTP status and the error object.
type fault struct {
	status int
	err    apiError
}

func (f *fault) Error() string { return f.err.Message }

// badRequest is a 400 naming the parameter at fault ("" for none).
func badRequest(param, msg string) *fault {
	return newFault(http.StatusBadRequest, typeInvalidRequest, param, "", msg)
}

func newFault(status int, typ, param, code, msg string) *fault {
	f := &fault{status: status, err: apiError{Message: msg, Type: typ}}
	if param != "" {
		f.err.Param = &param
	}
	if code != "" {
		f.err.Code = &code
	}
	return f
}

func writeFault(rw http.ResponseWriter, f *fault) {
	if f.status == http.StatusUnauthorized {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	}
	channelkit.WriteJSON(rw, f.status, errorBody{Error: f.err})
}
