package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type user struct {
	Login string `json:"login"`
}

type label struct {
	Name string `json:"name"`
}

type issue struct {
	Number      int             `json:"number"`
	Title       string          `json:"title"`
	State       string          `json:"state"`
	User        user            `json:"user"`
	Labels      []label         `json:"labels"`
	Comments    int             `json:"comments"`
	Body        string          `json:"body"`
	HTMLURL     string          `json:"html_url"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
	Draft       bool            `json:"draft"`
	PullRequest *map[string]any `json:"pull_request,omitempty"`
}

type ref struct {
	Ref string `json:"ref"`
}

type pull struct {
	issue
	Merged       bool  `json:"merged"`
	Mergeable    *bool `json:"mergeable"`
	Additions    int   `json:"additions"`
	Deletions    int   `json:"deletions"`
	ChangedFiles int   `json:"changed_files"`
	Head         ref   `json:"head"`
	Base         ref   `json:"base"`
}

type comment struct {
	User      user   `json:"user"`
	Body      string `json:"body"`
	CreatedAt string `json:"created_at"`
	HTMLURL   string `json:"html_url"`
}

func day(ts string) string {
	if len(ts) >= 10 {
		return ts[:10]
	}
	return ts
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func formatList(p params, what string, items []issue) string {
	state := p.State
	if state == "" {
		state = "open"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s: %d %s %s\n", p.Owner, p.Repo, len(items), state, what)
	for _, it := range items {
		fmt.Fprintf(&b, "#%d %s — %s, by %s, %d comments, updated %s", it.Number, it.Title, it.State, it.User.Login, it.Comments, day(it.UpdatedAt))
		if it.Draft {
			b.WriteString(", draft")
		}
		if len(it.Labels) > 0 {
			names := make([]string, len(it.Labels))
			for i, l := range it.Labels {
				names[i] = l.Name
			}
			b.WriteString(", labels: " + strings.Join(names, ", "))
		}
		b.WriteString("\n  " + it.HTMLURL + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func formatIssue(it issue, comments []comment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s (%s) by %s, opened %s\n%s\n", it.Number, it.Title, it.State, it.User.Login, day(it.CreatedAt), it.HTMLURL)
	if body := clip(it.Body, 4000); body != "" {
		b.WriteString("\n" + body + "\n")
	}
	if len(comments) > 0 {
		fmt.Fprintf(&b, "\nComments (%d):\n", len(comments))
		for _, c := range comments {
			fmt.Fprintf(&b, "- %s (%s): %s\n", c.User.Login, day(c.CreatedAt), clip(c.Body, 1000))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func formatPull(pr pull) string {
	state := pr.State
	switch {
	case pr.Merged:
		state = "merged"
	case pr.Draft:
		state += ", draft"
	}
	mergeable := "unknown"
	if pr.Mergeable != nil {
		mergeable = map[bool]string{true: "yes", false: "no (conflicts)"}[*pr.Mergeable]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s (%s) by %s: %s → %s, +%d −%d in %d files, mergeable: %s\n%s\n",
		pr.Number, pr.Title, state, pr.User.Login, pr.Head.Ref, pr.Base.Ref, pr.Additions, pr.Deletions, pr.ChangedFiles, mergeable, pr.HTMLURL)
	if body := clip(pr.Body, 4000); body != "" {
		b.WriteString("\n" + body)
	}
	return strings.TrimRight(b.String(), "\n")
}
