// Package guest is the SDK for Hearth tools that run in the WASM sandbox.
// A tool is a Go program built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// that registers one typed handler from init:
//
//	type params struct {
//		City string `json:"city"`
//	}
//
//	func init() {
//		guest.Register("Forecast for a city.", `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`, run)
//	}
//
//	func run(c *guest.Context, p params) (string, error) {
//		resp, err := c.HTTP(guest.Request{Method: "GET", URL: "https://api.example.com/v1/forecast?city=" + url.QueryEscape(p.City)})
//		...
//	}
//
//	func main() {}
//
// The SDK implements the core-wasm ABI documented in wit/README.md: it
// exports the allocator and the description, schema and execute entry
// points, and wraps the host imports (log, clock, workspace reads, HTTP,
// secret existence, tool invocation) in ordinary Go calls. Authors never
// handle pointers. The package uses only the standard library.
//
// Built for any other platform the package compiles (so tools can share
// code with native tests), but every host call returns ErrNoHost.
//
// Notes for authors: the sandbox gives each call a fresh instance restored
// from a snapshot taken right after initialisation, so package variables
// never carry state between calls, and math/rand and map iteration order
// repeat from call to call; use crypto/rand for unpredictable values. There
// is no filesystem, no environment and no network except through Context.
package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// ErrNoHost is returned by host calls outside the sandbox.
var ErrNoHost = errors.New("guest: not running in the Hearth sandbox")

// Level is a log level.
type Level int32

// Log levels, as the host understands them.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Context is what a handler knows about its call, and its way to the host.
type Context struct {
	// Tool is the tool's registered name.
	Tool string `json:"tool"`
	// CallID identifies the model's tool call.
	CallID string `json:"call_id"`
	// Timezone is the user's IANA timezone name ("" when unknown).
	Timezone string `json:"timezone"`
}

// Handler is a tool's implementation: typed parameters in, text out. An
// error becomes a tool error the model reads.
type Handler[P any] func(c *Context, params P) (string, error)

// tool is the one registered handler.
type tool struct {
	description string
	schema      string
	run         func(c *Context, raw json.RawMessage) (string, error)
	// warm decodes an empty parameters object, so the JSON decoder for
	// the parameter type is built before the snapshot.
	warm func()
}

// registered is set once by Register from init. It is the only package
// state besides the ABI's buffers, and every call starts from the same
// snapshot of it.
var registered *tool

// Register declares the tool: a description for the model, the JSON Schema
// of its parameters, and the handler. Call it exactly once, from init.
func Register[P any](description, schema string, h Handler[P]) {
	if registered != nil {
		panic("guest: Register called twice")
	}
	if h == nil {
		panic("guest: Register with a nil handler")
	}
	registered = &tool{
		description: description,
		schema:      schema,
		run: func(c *Context, raw json.RawMessage) (string, error) {
			var p P
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &p); err != nil {
					return "", fmt.Errorf("invalid parameters: %w", err)
				}
			}
			return h(c, p)
		},
		warm: func() {
			var p P
			_ = json.Unmarshal([]byte(`{}`), &p)
			_, _ = json.Marshal(p)
		},
	}
}

// JSON marshals v for a handler that answers with structured data.
func JSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// envelope is what execute receives.
type envelope struct {
	Params  json.RawMessage `json:"params"`
	Context Context         `json:"context"`
}

// outcome is what execute returns.
type outcome struct {
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}

// describe returns the registered description, or an error text when the
// module forgot to register.
func describe() string {
	if registered == nil {
		return ""
	}
	return registered.description
}

func schema() string {
	if registered == nil {
		return ""
	}
	return registered.schema
}

// prepare runs once, after initialisation and before the host takes the
// snapshot every call starts from: it warms the JSON machinery for the
// envelope types and collects garbage, so that no call repeats that work.
func prepare() {
	var env envelope
	_ = json.Unmarshal([]byte(`{"params":{},"context":{"tool":"t","call_id":"c","timezone":"UTC"}}`), &env)
	_ = mustMarshal(outcome{Output: "x", Error: "y"})
	var rep hostReply
	_ = json.Unmarshal([]byte(`{"ok":{}}`), &rep)
	if registered != nil {
		registered.warm()
	}
	// Collect garbage and return free pages now, so that the background
	// scavenger has no work pending in the snapshot.
	debug.FreeOSMemory()
}

// execute runs the handler for one JSON envelope and returns the JSON
// outcome. A panic in the handler becomes an error outcome.
func execute(input []byte) (out []byte) {
	defer func() {
		if p := recover(); p != nil {
			// The stack goes to the host's log; the model gets one line.
			_, _ = os.Stderr.Write(append([]byte(fmt.Sprintf("panic: %v\n", p)), debug.Stack()...))
			out = mustMarshal(outcome{Error: fmt.Sprintf("tool panicked: %v", p)})
		}
	}()
	if registered == nil {
		return mustMarshal(outcome{Error: "the module did not call guest.Register"})
	}
	var env envelope
	if err := json.Unmarshal(input, &env); err != nil {
		return mustMarshal(outcome{Error: "invalid call envelope: " + err.Error()})
	}
	res, err := registered.run(&env.Context, env.Params)
	if err != nil {
		return mustMarshal(outcome{Output: res, Error: err.Error()})
	}
	return mustMarshal(outcome{Output: res})
}

func mustMarshal(o outcome) []byte {
	b, err := json.Marshal(o)
	if err != nil {
		return []byte(`{"error":"cannot encode the outcome"}`)
	}
	return b
}
