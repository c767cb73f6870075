package runtime

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/engine/tools"
)

// toolThenAnswer calls the named tool once, then answers with what the
// tool said.
type toolThenAnswer struct{ tool string }

func (s toolThenAnswer) Chat(_ context.Context, req engine.ChatRequest) (*engine.ChatResponse, error) {
	last := req.Messages[len(req.Messages)-1]
	if last.Role == engine.RoleTool {
		return &engine.ChatResponse{Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "tool said: " + last.Content}}, nil
	}
	return &engine.ChatResponse{Message: engine.ChatMessage{Role: engine.RoleAssistant,
		ToolCalls: []engine.ToolCall{{ID: "c1", Name: s.tool, Arguments: json.RawMessage(`{"target":"SOUL.md"}`)}}}}, nil
}

type dangerTool struct{ ran atomic.Int32 }

func (d *dangerTool) Info() engine.ToolInfo {
	return engine.ToolInfo{Name: "danger", Description: "does something risky", NeedsApproval: true,
		Parameters: json.RawMessage(`{"type":"object","properties":{"target":{"type":"string"}}}`)}
}

func (d *dangerTool) Execute(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
	d.ran.Add(1)
	return engine.ToolResult{Content: "done"}, nil
}

func approvalFixture(t *testing.T, timeout time.Duration) (*fixture, *dangerTool) {
	t.Helper()
	reg := tools.New(tools.Options{})
	d := &dangerTool{}
	if err := reg.Register(d); err != nil {
		t.Fatal(err)
	}
	ap := NewApprovals()
	ag, err := agent.New(agent.Options{LLM: toolThenAnswer{tool: "danger"}, Tools: reg, Approver: ap, ApprovalTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, ag, func(o *Options) { o.Approvals = ap })
	return f, d
}

// waitQuestion waits for the approval question in the conversation.
func waitQuestion(t *testing.T, f *fixture) engine.Outbound {
	t.Helper()
	var q engine.Outbound
	eventually(t, "the approval question is sent", func() bool {
		f.ch.mu.Lock()
		defer f.ch.mu.Unlock()
		for _, m := range f.ch.out {
			if strings.HasPrefix(m.Text, "Approval needed") {
				q = m
				return true
			}
		}
		return false
	})
	return q
}

func TestApprovalYesRunsTheTool(t *testing.T) {
	f, d := approvalFixture(t, time.Minute)
	f.accept(msg("c", "1", "please do the risky thing"))
	q := waitQuestion(t, f)
	if !strings.Contains(q.Text, "danger") || !strings.Contains(q.Text, `"target":"SOUL.md"`) || q.To.Conversation != "c" {
		t.Fatalf("question %+v", q)
	}
	if r := f.accept(msg("c", "2", "yes")); r.Status != engine.Handled {
		t.Fatalf("answer receipt %+v", r)
	}
	got := f.ch.waitFinals(t, 2)
	if d.ran.Load() != 1 || !strings.Contains(texts(got), "tool said: done") {
		t.Fatalf("ran %d, finals %q", d.ran.Load(), texts(got))
	}
}

func TestApprovalNoAndTimeoutDoNotRunTheTool(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string
	}{{"no", "no"}, {"timeout", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := time.Minute
			if tc.answer == "" {
				timeout = 50 * time.Millisecond
			}
			f, d := approvalFixture(t, timeout)
			f.accept(msg("c", "1", "please do the risky thing"))
			waitQuestion(t, f)
			want := 1
			if tc.answer != "" {
				f.accept(msg("c", "2", tc.answer))
				want = 2
			}
			got := f.ch.waitFinals(t, want)
			if d.ran.Load() != 0 {
				t.Fatal("the tool ran without approval")
			}
			if !strings.Contains(texts(got), "did not approve") {
				t.Fatalf("the model was not told: %q", texts(got))
			}
			entries, err := f.store.ListAudit(context.Background(), engine.AuditFilter{Kind: "approval"})
			if err != nil || len(entries) < 2 {
				t.Fatalf("approval audit %+v %v", entries, err)
			}
		})
	}
}
