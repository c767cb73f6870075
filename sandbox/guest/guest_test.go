package guest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type echoParams struct {
	Text string `json:"text"`
}

func withTool(t *testing.T, h Handler[echoParams]) {
	t.Helper()
	registered = nil
	t.Cleanup(func() { registered = nil })
	Register("Echo.", `{"type":"object"}`, h)
}

func run(t *testing.T, input string) outcome {
	t.Helper()
	var o outcome
	if err := json.Unmarshal(execute([]byte(input)), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestExecuteEnvelope(t *testing.T) {
	var seen *Context
	withTool(t, func(c *Context, p echoParams) (string, error) {
		seen = c
		if p.Text == "fail" {
			return "partial", errors.New("it failed")
		}
		if p.Text == "panic" {
			panic("kaboom")
		}
		return "echo: " + p.Text, nil
	})
	if describe() != "Echo." || schema() != `{"type":"object"}` {
		t.Fatal("description or schema lost")
	}
	o := run(t, `{"params":{"text":"hi"},"context":{"tool":"echo","call_id":"c9","timezone":"Europe/Oslo"}}`)
	if o.Output != "echo: hi" || o.Error != "" || seen.CallID != "c9" || seen.Timezone != "Europe/Oslo" {
		t.Fatalf("%+v %+v", o, seen)
	}
	if o := run(t, `{"params":{"text":"fail"}}`); o.Output != "partial" || o.Error != "it failed" {
		t.Fatalf("error outcome %+v", o)
	}
	if o := run(t, `{"params":{"text":"panic"}}`); o.Error != "tool panicked: kaboom" {
		t.Fatalf("panic outcome %+v", o)
	}
	if o := run(t, `{"params":{"text":5}}`); !strings.HasPrefix(o.Error, "invalid parameters") {
		t.Fatalf("bad params %+v", o)
	}
	if o := run(t, `{"params":null}`); o.Output != "echo: " {
		t.Fatalf("null params %+v", o)
	}
	if o := run(t, `not json`); !strings.HasPrefix(o.Error, "invalid call envelope") {
		t.Fatalf("bad envelope %+v", o)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	withTool(t, func(*Context, echoParams) (string, error) { return "", nil })
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	Register("again", "{}", func(*Context, echoParams) (string, error) { return "", nil })
}

func TestNoToolRegistered(t *testing.T) {
	registered = nil
	if o := run(t, `{"params":{}}`); !strings.Contains(o.Error, "did not call guest.Register") {
		t.Fatalf("%+v", o)
	}
}

func TestHostCallsOutsideTheSandbox(t *testing.T) {
	var c Context
	if _, err := c.HTTP(Request{Method: "GET", URL: "https://example.com"}); !errors.Is(err, ErrNoHost) {
		t.Fatalf("HTTP = %v", err)
	}
	if _, err := c.ReadWorkspace("a.md"); !errors.Is(err, ErrNoHost) {
		t.Fatalf("ReadWorkspace = %v", err)
	}
	if _, _, err := c.InvokeTool("x", nil); !errors.Is(err, ErrNoHost) {
		t.Fatalf("InvokeTool = %v", err)
	}
	if c.SecretExists("x") || IsBlocked(ErrNoHost) || !IsBlocked(&HostError{Code: "blocked"}) {
		t.Fatal("secret/blocked helpers")
	}
}
