package builtin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hearthbot/hearth/engine"
)

// EchoName is the echo tool's name.
const EchoName = "echo"

const echoParameters = `{
  "type": "object",
  "properties": {
    "text": {"type": "string", "description": "The text to return."}
  },
  "required": ["text"],
  "additionalProperties": false
}`

// Echo returns its text argument unchanged; it is useful to test tool
// calling end to end.
type Echo struct{}

var _ engine.Tool = Echo{}

// NewEcho returns the echo tool.
func NewEcho() Echo { return Echo{} }

// Info implements engine.Tool.
func (Echo) Info() engine.ToolInfo {
	return engine.ToolInfo{
		Name:        EchoName,
		Description: "Return the given text unchanged.",
		Parameters:  json.RawMessage(echoParameters),
		Parallel:    true,
		Source:      Source,
	}
}

// Execute implements engine.Tool.
func (Echo) Execute(_ context.Context, call engine.ToolInvocation) (engine.ToolResult, error) {
	var args struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(call.Args, &args); err != nil {
		return engine.ToolResult{Content: fmt.Sprintf("echo: invalid arguments: %v", err), IsError: true}, nil
	}
	if args.Text == nil {
		return engine.ToolResult{Content: `echo: missing required argument "text"`, IsError: true}, nil
	}
	return engine.ToolResult{Content: *args.Text}, nil
}
