// Command github is a Hearth tool for GitHub issues and pull requests
// through the REST API. The user's token (secret github_token) is added
// by the host to requests to api.github.com; the tool never sees it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/hearthbot/hearth/sandbox/guest"
)

const description = "Read and write GitHub issues and pull requests: list_issues, get_issue, list_pulls, get_pull, create_issue, comment. Uses the user's github_token secret when set (required to write)."

const schema = `{
  "type": "object",
  "properties": {
    "action": {"type": "string", "enum": ["list_issues", "get_issue", "list_pulls", "get_pull", "create_issue", "comment"]},
    "owner": {"type": "string", "description": "Repository owner (user or organisation)."},
    "repo": {"type": "string", "description": "Repository name."},
    "number": {"type": "integer", "minimum": 1, "description": "Issue or pull request number (get_issue, get_pull, comment)."},
    "state": {"type": "string", "enum": ["open", "closed", "all"], "description": "For list actions; default open."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "For list actions; default 10."},
    "title": {"type": "string", "description": "create_issue: the title."},
    "body": {"type": "string", "description": "create_issue, comment: the text (Markdown)."}
  },
  "required": ["action", "owner", "repo"],
  "additionalProperties": false
}`

// api is GitHub's REST endpoint.
const api = "https://api.github.com"

// tokenSecret is the secret the host injects.
const tokenSecret = "github_token"

type params struct {
	Action string `json:"action"`
	Owner  string `json:"owner"`
	Repo   string `json:"repo"`
	Number int    `json:"number"`
	State  string `json:"state"`
	Limit  int    `json:"limit"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

func init() { guest.Register(description, schema, run) }

func main() {}

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

func run(c *guest.Context, p params) (string, error) {
	if !ownerRE.MatchString(p.Owner) {
		return "", fmt.Errorf("owner %q is not a GitHub user or organisation name", p.Owner)
	}
	if !repoRE.MatchString(p.Repo) || p.Repo == "." || p.Repo == ".." {
		return "", fmt.Errorf("repo %q is not a repository name", p.Repo)
	}
	gh := client{c: c, base: api + "/repos/" + p.Owner + "/" + p.Repo}
	switch p.Action {
	case "list_issues":
		return gh.listIssues(p)
	case "get_issue":
		return gh.getIssue(p)
	case "list_pulls":
		return gh.listPulls(p)
	case "get_pull":
		return gh.getPull(p)
	case "create_issue":
		return gh.createIssue(p)
	case "comment":
		return gh.comment(p)
	}
	return "", fmt.Errorf("unknown action %q (want list_issues, get_issue, list_pulls, get_pull, create_issue or comment)", p.Action)
}

type client struct {
	c    *guest.Context
	base string
}

// do sends a request and decodes a JSON answer into out.
func (g client) do(method, path string, in, out any) error {
	req := guest.Request{Method: method, URL: g.base + path, TimeoutMS: 15000, Headers: map[string]string{
		"Accept":               "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28",
	}}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req.Body = b
		req.Headers["Content-Type"] = "application/json"
	}
	resp, err := g.c.HTTP(req)
	if err != nil {
		return err
	}
	if resp.Status >= 300 {
		return apiError(resp, g.c.SecretExists(tokenSecret))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("GitHub sent an answer that is not the expected JSON: %v", err)
	}
	return nil
}

// apiError explains a GitHub error status.
func apiError(resp *guest.Response, haveToken bool) error {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(resp.Body, &e)
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	switch resp.Status {
	case 401:
		if !haveToken {
			return fmt.Errorf("GitHub requires authentication (%s): set a token with `hearth secrets set %s`", msg, tokenSecret)
		}
		return fmt.Errorf("GitHub rejected the token (%s): it may have expired; set a new one with `hearth secrets set %s`", msg, tokenSecret)
	case 403:
		return fmt.Errorf("GitHub refused (%s): the token may lack the permission, or the rate limit was reached", msg)
	case 404:
		if !haveToken {
			return fmt.Errorf("not found (%s); if the repository is private, set a token with `hearth secrets set %s`", msg, tokenSecret)
		}
		return fmt.Errorf("not found (%s)", msg)
	case 410:
		return fmt.Errorf("gone (%s): issues may be disabled for this repository", msg)
	case 422:
		return fmt.Errorf("GitHub did not accept the request: %s", msg)
	}
	return fmt.Errorf("GitHub answered HTTP %d: %s", resp.Status, msg)
}

func listQuery(p params) (string, error) {
	state := p.State
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return "", fmt.Errorf("state %q must be open, closed or all", state)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > 50 {
		return "", errors.New("limit must be at most 50")
	}
	q := url.Values{"state": {state}, "per_page": {strconv.Itoa(limit)}}
	return "?" + q.Encode(), nil
}

func needNumber(p params) error {
	if p.Number <= 0 {
		return fmt.Errorf("%s needs the issue or pull request number", p.Action)
	}
	return nil
}

func (g client) needToken() error {
	if !g.c.SecretExists(tokenSecret) {
		return fmt.Errorf("writing to GitHub needs a token: set one with `hearth secrets set %s`", tokenSecret)
	}
	return nil
}

func (g client) listIssues(p params) (string, error) {
	q, err := listQuery(p)
	if err != nil {
		return "", err
	}
	var items []issue
	if err := g.do("GET", "/issues"+q, nil, &items); err != nil {
		return "", err
	}
	var issues []issue
	for _, it := range items {
		if it.PullRequest == nil { // the issues endpoint lists pull requests too
			issues = append(issues, it)
		}
	}
	return formatList(p, "issues", issues), nil
}

func (g client) listPulls(p params) (string, error) {
	q, err := listQuery(p)
	if err != nil {
		return "", err
	}
	var pulls []issue
	if err := g.do("GET", "/pulls"+q, nil, &pulls); err != nil {
		return "", err
	}
	return formatList(p, "pull requests", pulls), nil
}

func (g client) getIssue(p params) (string, error) {
	if err := needNumber(p); err != nil {
		return "", err
	}
	var it issue
	if err := g.do("GET", "/issues/"+strconv.Itoa(p.Number), nil, &it); err != nil {
		return "", err
	}
	var comments []comment
	if it.Comments > 0 {
		if err := g.do("GET", "/issues/"+strconv.Itoa(p.Number)+"/comments?per_page=20", nil, &comments); err != nil {
			return "", err
		}
	}
	return formatIssue(it, comments), nil
}

func (g client) getPull(p params) (string, error) {
	if err := needNumber(p); err != nil {
		return "", err
	}
	var pr pull
	if err := g.do("GET", "/pulls/"+strconv.Itoa(p.Number), nil, &pr); err != nil {
		return "", err
	}
	return formatPull(pr), nil
}

func (g client) createIssue(p params) (string, error) {
	if strings.TrimSpace(p.Title) == "" {
		return "", errors.New("create_issue needs a title")
	}
	if err := g.needToken(); err != nil {
		return "", err
	}
	var it issue
	if err := g.do("POST", "/issues", map[string]string{"title": p.Title, "body": p.Body}, &it); err != nil {
		return "", err
	}
	return fmt.Sprintf("Created issue #%d: %s", it.Number, it.HTMLURL), nil
}

func (g client) comment(p params) (string, error) {
	if err := needNumber(p); err != nil {
		return "", err
	}
	if strings.TrimSpace(p.Body) == "" {
		return "", errors.New("comment needs a body")
	}
	if err := g.needToken(); err != nil {
		return "", err
	}
	var cm comment
	if err := g.do("POST", "/issues/"+strconv.Itoa(p.Number)+"/comments", map[string]string{"body": p.Body}, &cm); err != nil {
		return "", err
	}
	return fmt.Sprintf("Commented on #%d: %s", p.Number, cm.HTMLURL), nil
}
