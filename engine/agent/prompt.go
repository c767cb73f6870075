package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// systemPrompt assembles the configured persona, the current time and the
// sections of every prompt source (identity files, recalled memory).
func (a *Agent) systemPrompt(ctx context.Context, t Turn) (string, error) {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(a.o.SystemPrompt))
	now := a.o.Now()
	if loc, err := time.LoadLocation(t.User.Timezone); err == nil && t.User.Timezone != "" {
		now = now.In(loc)
	}
	fmt.Fprintf(&b, "\n\nCurrent time: %s (%s).", now.Format("Monday, 2 January 2006 15:04 MST"), now.Format(time.RFC3339))
	if t.User.Name != "" {
		fmt.Fprintf(&b, "\nYou are talking with %s", t.User.Name)
		if t.From.Channel != "" {
			fmt.Fprintf(&b, " on %s", t.From.Channel)
		}
		b.WriteString(".")
	}
	if t.Session.Group {
		b.WriteString("\nThis is a group conversation: others can read your answers; do not reveal the user's private notes.")
	}
	pc := engine.PromptContext{User: t.User, Session: t.Session, Query: t.Input, Now: a.o.Now()}
	for _, src := range a.o.Prompts {
		sec, err := src.PromptSection(ctx, pc)
		if err != nil {
			return "", fmt.Errorf("prompt section: %w", err)
		}
		if sec = strings.TrimSpace(sec); sec != "" {
			b.WriteString("\n\n")
			b.WriteString(sec)
		}
	}
	return b.String(), nil
}

// estimateTokens approximates the token count of text (about four
// characters a token for English; deliberately conservative).
func estimateTokens(s string) int { return len(s)/4 + 1 }

func messageTokens(m engine.ChatMessage) int {
	n := estimateTokens(m.Content) + 4
	for _, c := range m.ToolCalls {
		n += estimateTokens(c.Name) + estimateTokens(string(c.Arguments))
	}
	return n
}

// maybeCompact summarizes older history when the prompt nears the context
// window. It keeps the last KeepRecent user turns raw and cuts only at the
// start of a user turn, so tool calls stay with their results. The raw
// turns stay in the store; only the session's summary changes.
func (a *Agent) maybeCompact(ctx context.Context, t Turn, system, summary string, history []engine.HistoryEntry, input string) (*Compaction, []engine.HistoryEntry, error) {
	total := estimateTokens(system) + estimateTokens(summary) + estimateTokens(input)
	for _, h := range history {
		total += messageTokens(h.Message)
	}
	limit := int(float64(a.o.ContextWindow) * a.o.CompactionThreshold)
	if total <= limit {
		return nil, history, nil
	}
	// Find the cut: the index of the KeepRecent-th user message from the end.
	users := 0
	cut := -1
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Message.Role == engine.RoleUser {
			users++
			if users == a.o.KeepRecent {
				cut = i
				break
			}
		}
	}
	if cut <= 0 {
		// Fewer recent turns than KeepRecent: summarize all but the last turn.
		cut = -1
		for i := len(history) - 1; i > 0; i-- {
			if history[i].Message.Role == engine.RoleUser {
				cut = i
				break
			}
		}
		if cut <= 0 {
			return nil, history, nil
		}
	}
	old := history[:cut]
	var b strings.Builder
	if summary != "" {
		b.WriteString("Earlier summary:\n")
		b.WriteString(summary)
		b.WriteString("\n\n")
	}
	b.WriteString("Conversation to summarize:\n")
	for _, h := range old {
		m := h.Message
		switch {
		case m.Role == engine.RoleTool:
			fmt.Fprintf(&b, "[tool %s result]: %s\n", m.Name, truncate(m.Content, 2000))
		case len(m.ToolCalls) > 0:
			for _, c := range m.ToolCalls {
				fmt.Fprintf(&b, "[assistant called %s with %s]\n", c.Name, truncate(string(c.Arguments), 500))
			}
			if m.Content != "" {
				fmt.Fprintf(&b, "assistant: %s\n", m.Content)
			}
		default:
			fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
		}
	}
	resp, err := a.call(ctx, engine.ChatRequest{
		Model:     t.Model,
		System:    "You condense conversations. Write a concise summary of the conversation below for your own future reference: facts about the user, decisions, open tasks, and anything you promised. Use short bullet points. Do not address the user.",
		Messages:  []engine.ChatMessage{{Role: engine.RoleUser, Content: truncate(b.String(), a.o.ContextWindow*2)}},
		MaxTokens: 1024,
	})
	if err != nil {
		return nil, history, err
	}
	text := strings.TrimSpace(resp.Message.Content)
	if text == "" {
		return nil, history, fmt.Errorf("empty summary")
	}
	return &Compaction{Summary: text, Through: old[len(old)-1].Seq}, history[cut:], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
