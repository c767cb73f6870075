package provider

import (
	"bytes"
	"encoding/json"
)

// Finish reasons every provider reports in engine.ChatResponse.FinishReason
// (OpenAI's vocabulary; Anthropic's stop reasons are mapped onto it).
const (
	FinishStop          = "stop"
	FinishToolCalls     = "tool_calls"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
)

// NormalizeArgs turns tool-call arguments as a model produced them into a
// valid JSON value: empty becomes {}, valid JSON is kept, anything else is
// kept as a JSON string so that the message can still be stored and the
// tool's argument validation can tell the model what was wrong.
func NormalizeArgs(raw []byte) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return json.RawMessage(`{}`)
	}
	if json.Valid(trimmed) {
		return json.RawMessage(bytes.Clone(trimmed))
	}
	quoted, _ := json.Marshal(string(raw))
	return quoted
}

// ArgsObject returns args when it is a JSON object, otherwise {} (Anthropic
// requires tool_use input to be an object).
func ArgsObject(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return trimmed
	}
	return json.RawMessage(`{}`)
}

// ArgsString returns the arguments as the string OpenAI expects in an
// assistant message's tool_calls ({} when empty).
func ArgsString(args json.RawMessage) string {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 {
		return "{}"
	}
	return string(trimmed)
}
