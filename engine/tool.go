package engine

import (
	"context"
	"encoding/json"
	"time"
)

// Tool is an ability the agent can use: a built-in, a WASM module run by
// the sandbox, or an MCP server's tool. The registry validates arguments
// against Spec().Parameters before Execute is called.
type Tool interface {
	Info() ToolInfo
	Execute(ctx context.Context, call ToolInvocation) (ToolResult, error)
}

// ToolInfo is a tool's static description and policy.
type ToolInfo struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage
	// NeedsApproval: every call asks the owner first.
	NeedsApproval bool
	// Sensitive: calls need approval while the turn is tainted by
	// untrusted content (safety issue).
	Sensitive bool
	// Parallel: several calls of this tool may run at once in one step.
	Parallel bool
	// Untrusted: the output comes from outside (web, email, third-party
	// API) and is wrapped and scanned as untrusted content.
	Untrusted bool
	// Source says where the tool comes from: builtin, wasm, mcp.
	Source string
	// Timeout bounds one call; zero takes the registry default.
	Timeout time.Duration
}

// Spec is what the model sees of the tool.
func (i ToolInfo) Spec() ToolSpec {
	return ToolSpec{Name: i.Name, Description: i.Description, Parameters: i.Parameters}
}

// ToolInvocation is one call with who made it and where.
type ToolInvocation struct {
	CallID    string
	Args      json.RawMessage
	UserID    string
	SessionID string
	// From is the address of the conversation the turn belongs to.
	From Address
	// Timezone is the user's IANA timezone name.
	Timezone string
	// Tainted reports that the turn has taken in untrusted content.
	Tainted bool
}

// ToolResult is a tool's output for the model.
type ToolResult struct {
	Content string
	// IsError marks output that describes a failure the model can act on.
	IsError bool
	// Untrusted overrides ToolInfo.Untrusted for this result.
	Untrusted bool
	// Source names the origin for wrapping ("web", "tool:github").
	Source string
}
