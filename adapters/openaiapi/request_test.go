package openaiapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadRequests(t *testing.T) {
	h := start(t, Options{MaxBodyBytes: 4096})
	const user = `{"role":"user","content":"hi"}`
	cases := []struct {
		name   string
		body   string
		header map[string]string
		status int
		param  string // "" when the error names none
		msg    string
	}{
		{"empty body", ``, nil, 400, "", "empty body"},
		{"malformed JSON", `{"model":"hearth","messages":[` + user, nil, 400, "", "malformed JSON"},
		{"syntax error", `{"model":"hearth",,}`, nil, 400, "", "malformed JSON at byte"},
		{"trailing data", `{"model":"hearth","messages":[` + user + `]} {}`, nil, 400, "", "unexpected data after the object"},
		{"not an object", `["hearth"]`, nil, 400, "", "must be a JSON object"},
		{"invalid UTF-8", "{\"model\":\"hearth\",\"messages\":[{\"role\":\"user\",\"content\":\"h\xffi\"}]}", nil, 400, "", "not valid UTF-8"},
		{"oversized body", `{"model":"hearth","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`, nil, 400, "", "too large"},
		{"no model", `{"messages":[` + user + `]}`, nil, 400, "model", "model"},
		{"model of the wrong type", `{"model":7,"messages":[` + user + `]}`, nil, 400, "model", "must be a string"},
		{"unknown model", `{"model":"gpt-4o","messages":[` + user + `]}`, nil, 404, "model", `"gpt-4o" does not exist`},
		{"no messages", `{"model":"hearth","messages":[]}`, nil, 400, "messages", "at least one message"},
		{"no user message", `{"model":"hearth","messages":[{"role":"system","content":"x"}]}`, nil, 400, "messages", `no message with role "user"`},
		{"unknown role", `{"model":"hearth","messages":[{"role":"wizard","content":"x"},` + user + `]}`, nil, 400, "messages[0].role", "unknown role"},
		{"empty content", `{"model":"hearth","messages":[{"role":"user","content":"  "}]}`, nil, 400, "messages[0].content", "empty"},
		{"null content", `{"model":"hearth","messages":[{"role":"user","content":null}]}`, nil, 400, "messages[0].content", "no content"},
		{"numeric content", `{"model":"hearth","messages":[{"role":"user","content":5}]}`, nil, 400, "messages[0].content", "string or an array"},
		{"image part", `{"model":"hearth","messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, nil, 400, "messages[0].content[1].type", `"image_url"`},
		{"NUL in content", `{"model":"hearth","messages":[{"role":"user","content":"a\u0000b"}]}`, nil, 400, "messages[0].content", "NUL"},
		{"several answers", `{"model":"hearth","n":2,"messages":[` + user + `]}`, nil, 400, "n", "n must be 1"},
		{"stream of the wrong type", `{"model":"hearth","stream":"yes","messages":[` + user + `]}`, nil, 400, "stream", "must be a bool"},
		{"wrong content type", `{"model":"hearth","messages":[` + user + `]}`, map[string]string{"Content-Type": "text/plain"}, 400, "", "Content-Type"},
		{"conversation header with control characters", `{"model":"hearth","messages":[` + user + `]}`, map[string]string{HeaderConversation: "a\tb"}, 400, HeaderConversation, "control characters"},
		{"conversation header too long", `{"model":"hearth","messages":[` + user + `]}`, map[string]string{HeaderConversation: strings.Repeat("c", 300)}, 400, HeaderConversation, "longer than"},
		{"user field too long", `{"model":"hearth","user":"` + strings.Repeat("u", 300) + `","messages":[` + user + `]}`, nil, 400, "user", "longer than"},
		{"user field with a newline", `{"model":"hearth","user":"a\nb","messages":[` + user + `]}`, nil, 400, "user", "control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := h.bearer()
			for k, v := range tc.header {
				header[k] = v
			}
			status, m := h.raw(t, http.MethodPost, "/v1/chat/completions", []byte(tc.body), header)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, m)
			}
			msg, _ := errorField(t, m, "message").(string)
			if !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q does not contain %q", msg, tc.msg)
			}
			param, _ := errorField(t, m, "param").(string)
			if param != tc.param {
				t.Fatalf("param %q, want %q", param, tc.param)
			}
			if typ := errorField(t, m, "type"); typ != typeInvalidRequest {
				t.Fatalf("type %v", typ)
			}
		})
	}
	if n := len(h.sink.inbound()); n != 0 {
		t.Fatalf("%d bad requests reached the engine", n)
	}
}

func TestRequestsThatAreAccepted(t *testing.T) {
	h := start(t, Options{})
	cases := []struct {
		name, body, want string
	}{
		{"text parts are joined", `{"model":"hearth","messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}]}`, "one\ntwo"},
		{"the last user message wins", `{"model":"hearth","messages":[{"role":"user","content":"old"},{"role":"assistant","content":"a"},{"role":"user","content":"new"},{"role":"assistant","content":"prefill"}]}`, "new"},
		{"unknown parameters are ignored", `{"model":"hearth","temperature":0.2,"max_tokens":5,"tools":[],"seed":1,"n":1,"messages":[{"role":"developer","content":"x"},{"role":"user","content":"ok"}]}`, "ok"},
		{"unicode survives", `{"model":"hearth","messages":[{"role":"user","content":"Grüße 👋"}]}`, "Grüße 👋"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := h.raw(t, http.MethodPost, "/v1/chat/completions", []byte(tc.body), h.bearer())
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, m)
			}
			if got := h.sink.inbound()[i].Text; got != tc.want {
				t.Fatalf("input %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	h := start(t, Options{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/chat/completions", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/models", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/completions", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
	} {
		status, m := h.raw(t, tc.method, tc.path, nil, h.bearer())
		if status != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, status, tc.status)
			continue
		}
		errorField(t, m, "message")
	}
}
