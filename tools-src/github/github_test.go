package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hearthbot/hearth/sandbox/secrets"
	"github.com/hearthbot/hearth/sandbox/tooltest"
)

// fakeGitHub speaks the parts of the GitHub REST API the tool uses.
type fakeGitHub struct {
	t        *testing.T
	token    string
	mu       sync.Mutex
	auth     []string
	created  []map[string]string
	leakBody string // when set, issue 99's body
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		f.t.Errorf("%s %s without the GitHub headers", r.Method, r.URL)
	}
	authed := r.Header.Get("Authorization") == "Bearer "+f.token
	w.Header().Set("Content-Type", "application/json")
	write := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	const repo = "/repos/octo/hello"
	switch {
	case r.Method == "GET" && r.URL.Path == repo+"/issues":
		if r.URL.Query().Get("state") != "open" || r.URL.Query().Get("per_page") != "10" {
			f.t.Errorf("list query %s", r.URL.RawQuery)
		}
		write(200, []map[string]any{
			{"number": 12, "title": "Crash on start", "state": "open", "user": map[string]any{"login": "alice"}, "comments": 2,
				"updated_at": "2026-11-20T10:00:00Z", "html_url": "https://github.com/octo/hello/issues/12", "labels": []map[string]any{{"name": "bug"}}},
			{"number": 13, "title": "Add dark mode", "state": "open", "user": map[string]any{"login": "bob"},
				"updated_at": "2026-11-21T10:00:00Z", "html_url": "https://github.com/octo/hello/pull/13", "pull_request": map[string]any{"url": "x"}},
		})
	case r.Method == "GET" && r.URL.Path == repo+"/issues/12":
		write(200, map[string]any{"number": 12, "title": "Crash on start", "state": "open", "user": map[string]any{"login": "alice"},
			"comments": 1, "body": "It crashes.", "created_at": "2026-11-19T09:00:00Z", "html_url": "https://github.com/octo/hello/issues/12"})
	case r.Method == "GET" && r.URL.Path == repo+"/issues/12/comments":
		write(200, []map[string]any{{"user": map[string]any{"login": "bob"}, "body": "Same here.", "created_at": "2026-11-20T08:00:00Z"}})
	case r.Method == "GET" && r.URL.Path == repo+"/issues/99":
		write(200, map[string]any{"number": 99, "title": "t", "state": "open", "user": map[string]any{"login": "mallory"}, "body": f.leakBody})
	case r.Method == "GET" && r.URL.Path == repo+"/pulls":
		write(200, []map[string]any{{"number": 13, "title": "Add dark mode", "state": "open", "draft": true, "user": map[string]any{"login": "bob"},
			"updated_at": "2026-11-21T10:00:00Z", "html_url": "https://github.com/octo/hello/pull/13"}})
	case r.Method == "GET" && r.URL.Path == repo+"/pulls/13":
		write(200, map[string]any{"number": 13, "title": "Add dark mode", "state": "open", "user": map[string]any{"login": "bob"}, "mergeable": true,
			"additions": 10, "deletions": 2, "changed_files": 3, "head": map[string]any{"ref": "dark"}, "base": map[string]any{"ref": "main"},
			"body": "Adds a theme.", "html_url": "https://github.com/octo/hello/pull/13"})
	case r.Method == "POST" && r.URL.Path == repo+"/issues":
		if !authed {
			write(401, map[string]string{"message": "Requires authentication"})
			return
		}
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		f.created = append(f.created, in)
		f.mu.Unlock()
		write(201, map[string]any{"number": 14, "html_url": "https://github.com/octo/hello/issues/14"})
	case r.Method == "POST" && r.URL.Path == repo+"/issues/12/comments":
		if !authed {
			write(401, map[string]string{"message": "Requires authentication"})
			return
		}
		write(201, map[string]any{"html_url": "https://github.com/octo/hello/issues/12#issuecomment-1"})
	default:
		write(404, map[string]string{"message": "Not Found"})
	}
}

func (f *fakeGitHub) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

// setToken does what `hearth secrets set github_token` does: read the
// value from standard input and store it encrypted.
func setToken(t *testing.T, h *tooltest.Harness, token string) {
	t.Helper()
	value, err := secrets.ReadValue(strings.NewReader(token + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Vault.Set(context.Background(), h.User, "github_token", value); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubTokenReachesOnlyTheAPI(t *testing.T) {
	token := "ghp_" + strings.Repeat("T0kEn", 7) + "x"
	h := tooltest.NewToolHarness(t, "tools-src/github")
	gh := &fakeGitHub{t: t, token: token}
	h.Net.Serve(gh, "api.github.com")
	setToken(t, h, token)
	h.WatchMemory(token)
	h.WatchMemory("Crash on start") // control: this does reach the guest
	m := h.Load()
	if info := m.Info(); !info.Sensitive || !info.Untrusted {
		t.Fatalf("a tool with an injected credential must be sensitive and untrusted: %+v", info)
	}

	tests := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"action": "list_issues", "owner": "octo", "repo": "hello"},
			"octo/hello: 1 open issues\n#12 Crash on start — open, by alice, 2 comments, updated 2026-11-20, labels: bug\n  https://github.com/octo/hello/issues/12"},
		{map[string]any{"action": "get_issue", "owner": "octo", "repo": "hello", "number": 12},
			"#12 Crash on start (open) by alice, opened 2026-11-19\nhttps://github.com/octo/hello/issues/12\n\nIt crashes.\n\nComments (1):\n- bob (2026-11-20): Same here."},
		{map[string]any{"action": "list_pulls", "owner": "octo", "repo": "hello"},
			"octo/hello: 1 open pull requests\n#13 Add dark mode — open, by bob, 0 comments, updated 2026-11-21, draft\n  https://github.com/octo/hello/pull/13"},
		{map[string]any{"action": "get_pull", "owner": "octo", "repo": "hello", "number": 13},
			"#13 Add dark mode (open) by bob: dark → main, +10 −2 in 3 files, mergeable: yes\nhttps://github.com/octo/hello/pull/13\n\nAdds a theme."},
		{map[string]any{"action": "create_issue", "owner": "octo", "repo": "hello", "title": "From Hearth", "body": "Hello"},
			"Created issue #14: https://github.com/octo/hello/issues/14"},
		{map[string]any{"action": "comment", "owner": "octo", "repo": "hello", "number": 12, "body": "On it"},
			"Commented on #12: https://github.com/octo/hello/issues/12#issuecomment-1"},
	}
	var outputs strings.Builder
	for _, tt := range tests {
		res := h.Call(tt.args)
		if res.IsError || res.Content != tt.want {
			t.Errorf("%v:\n%s\nwant:\n%s", tt.args["action"], res.Content, tt.want)
		}
		outputs.WriteString(res.Content)
	}

	// The token reached the API in the Authorization header...
	for _, a := range gh.seen() {
		if a != "Bearer "+token {
			t.Fatalf("the API saw Authorization %q", a)
		}
	}
	if len(gh.created) != 1 || gh.created[0]["title"] != "From Hearth" {
		t.Fatalf("created %v", gh.created)
	}
	// ...and nowhere else: not in the guest's memory, the model's context
	// (tool output), the logs, the audit log or the store in plain text.
	if !h.SeenInMemory("Crash on start") {
		t.Fatal("memory inspection is not working: the control string was not seen")
	}
	if h.SeenInMemory(token) {
		t.Fatal("the token was in the guest's memory")
	}
	if strings.Contains(outputs.String(), token) {
		t.Fatal("the token is in the tool output")
	}
	if strings.Contains(h.Everywhere(), token) {
		t.Fatal("the token is in the logs or the audit log")
	}
	for _, ct := range h.Store.Raw() {
		if bytes.Contains(ct, []byte(token)) || bytes.Contains(ct, []byte(token[4:20])) {
			t.Fatal("the store holds the token in plain text")
		}
	}
	entries := h.Audit.Entries()
	if len(entries) != len(tests) || !strings.Contains(entries[0].Detail, `"injected":["github_token"]`) {
		t.Fatalf("audit: %d entries, first detail %s", len(entries), entries[0].Detail)
	}

	// A response that echoes the token (a malicious issue body) is
	// withheld from the tool.
	gh.leakBody = "look: " + token
	res := h.Call(map[string]any{"action": "get_issue", "owner": "octo", "repo": "hello", "number": 99})
	if !res.IsError || !strings.Contains(res.Content, "github_token") || strings.Contains(res.Content, token) {
		t.Fatalf("echoed token: %+v", res)
	}
	if h.SeenInMemory(token) {
		t.Fatal("the echoed token reached the guest's memory")
	}
}

func TestGitHubWithoutToken(t *testing.T) {
	h := tooltest.NewToolHarness(t, "tools-src/github")
	gh := &fakeGitHub{t: t, token: "unused-token-value"}
	h.Net.Serve(gh, "api.github.com")
	h.Load()
	if res := h.Call(map[string]any{"action": "list_issues", "owner": "octo", "repo": "hello"}); res.IsError {
		t.Fatalf("public read without a token: %+v", res)
	}
	res := h.Call(map[string]any{"action": "create_issue", "owner": "octo", "repo": "hello", "title": "x"})
	if !res.IsError || !strings.Contains(res.Content, "hearth secrets set github_token") {
		t.Fatalf("write without a token: %+v", res)
	}
	for _, a := range gh.seen() {
		if a != "" {
			t.Fatalf("an Authorization header was sent without a secret: %q", a)
		}
	}
	bad := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"action": "get_issue", "owner": "../../user", "repo": "hello", "number": 1}, "is not a GitHub user"},
		{map[string]any{"action": "get_issue", "owner": "octo", "repo": "..", "number": 1}, "is not a repository name"},
		{map[string]any{"action": "get_issue", "owner": "octo", "repo": "hello"}, "needs the issue or pull request number"},
		{map[string]any{"action": "get_issue", "owner": "octo", "repo": "missing", "number": 1}, "if the repository is private, set a token"},
		{map[string]any{"action": "delete_repo", "owner": "octo", "repo": "hello"}, "unknown action"},
		{map[string]any{"action": "list_issues", "owner": "octo", "repo": "hello", "state": "weird"}, "must be open, closed or all"},
	}
	for _, b := range bad {
		res := h.Call(b.args)
		if !res.IsError || !strings.Contains(res.Content, b.want) {
			t.Errorf("%v: %+v, want an error containing %q", b.args, res, b.want)
		}
	}
}

func TestFormatters(t *testing.T) {
	f := false
	got := formatPull(pull{issue: issue{Number: 1, Title: "T", State: "closed", User: user{Login: "u"}, HTMLURL: "h"}, Merged: true, Mergeable: &f})
	if !strings.HasPrefix(got, "#1 T (merged) by u") || !strings.Contains(got, "mergeable: no (conflicts)") {
		t.Fatal(got)
	}
	if c := clip(strings.Repeat("é", 10), 3); c != "ééé…" {
		t.Fatal(c)
	}
}
