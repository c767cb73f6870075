package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// maxViolations bounds how many schema violations one error message lists.
const maxViolations = 8

// noLoader refuses every external $ref: a tool's schema may refer only to
// itself and to the standard metaschemas, never to the network or to files.
type noLoader struct{}

// Load implements jsonschema.URLLoader.
func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %q not allowed in a tool schema", url)
}

// compileSchema compiles the Parameters of a tool. The schema must be a
// JSON object with "type": "object", since the model always sends an
// arguments object. Format assertions are on, so a declared "format" is
// enforced.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a JSON object, got %s", jsonType(doc))
	}
	if t, ok := obj["type"]; !ok || t != "object" {
		return nil, fmt.Errorf(`must declare "type": "object" at the top level, got %s`, describeType(t, ok))
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	loc := "hearth-tool:///" + name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, err
	}
	return sch, nil
}

func describeType(t any, present bool) string {
	if !present {
		return "no type"
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// parseArgs decodes a call's arguments. Empty or null arguments are the
// empty object. It returns the arguments to hand to the tool, the decoded
// value for validation, and a model-readable problem when they are not one
// JSON value.
func parseArgs(raw json.RawMessage) (json.RawMessage, any, string) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return json.RawMessage("{}"), map[string]any{}, ""
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil {
		return nil, nil, fmt.Sprintf("the arguments are not valid JSON (%v); send a single JSON object", err)
	}
	return trimmed, v, ""
}

// violations turns a validation failure into model-readable lines, one
// per failed keyword: where in the arguments, and what was expected.
func violations(err error, p *message.Printer) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	var lines []string
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		line := fmt.Sprintf("at %s: %s", pointer(e.InstanceLocation), e.ErrorKind.LocalizedString(p))
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	walk(ve)
	return lines
}

// pointer renders an instance location as a JSON Pointer into the
// arguments ("/items/0/name"), or "the top level".
func pointer(loc []string) string {
	if len(loc) == 0 {
		return "the top level"
	}
	var sb strings.Builder
	for _, tok := range loc {
		sb.WriteByte('/')
		tok = strings.ReplaceAll(tok, "~", "~0")
		sb.WriteString(strings.ReplaceAll(tok, "/", "~1"))
	}
	return fmt.Sprintf("%q", sb.String())
}

// validationMessage is the error result for arguments that fail the schema.
func validationMessage(name string, lines []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "invalid arguments for tool %q:", name)
	for i, l := range lines {
		if i == maxViolations {
			fmt.Fprintf(&sb, "\n- ... and %d more", len(lines)-maxViolations)
			break
		}
		sb.WriteString("\n- ")
		sb.WriteString(l)
	}
	sb.WriteString("\nFix the arguments to match the tool's parameters schema and call it again.")
	return sb.String()
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
