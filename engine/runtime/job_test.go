package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/agent"
)

func TestSuppressed(t *testing.T) {
	cases := []struct {
		reply string
		want  bool
	}{
		{"HEARTBEAT_OK", true},
		{"  **HEARTBEAT_OK**  ", true},
		{"HEARTBEAT_OK — nothing needs your attention.", true},
		{"Nothing new. HEARTBEAT_OK", true},
		{"Your flight leaves in 2 hours; check in now.", false},
		{"HEARTBEAT_OK " + strings.Repeat("but actually a long alert. ", 20), false},
	}
	for _, c := range cases {
		if got := suppressed(c.reply, "HEARTBEAT_OK"); got != c.want {
			t.Errorf("suppressed(%q) = %v, want %v", c.reply, got, c.want)
		}
	}
	if suppressed("HEARTBEAT_OK", "") {
		t.Error("no sentinel must suppress nothing")
	}
}

func TestJobsDeliverOrSuppressAndReport(t *testing.T) {
	results := make(chan JobResult, 4)
	f := newFixture(t, funcRunner(func(_ context.Context, tr agent.Turn) (agent.Result, error) {
		reply := "HEARTBEAT_OK"
		if strings.Contains(tr.Input, "alert") {
			reply = "Your 5 pm meeting moved to 6."
		}
		return agent.Result{Reply: reply, Usage: engine.Usage{InputTokens: 7, OutputTokens: 3},
			Messages: []engine.ChatMessage{{Role: engine.RoleUser, Content: tr.Input}, {Role: engine.RoleAssistant, Content: reply}}}, nil
	}), func(o *Options) {
		o.OnJobDone = func(_ context.Context, r JobResult) { results <- r }
	})
	target := engine.Address{Channel: "test", Conversation: "dm-owner"}
	job := Job{RunID: "hb-1", Kind: "heartbeat", UserID: f.owner.ID, SessionKey: "job:heartbeat", Text: "check the list", DeliverTo: target, Sentinel: "HEARTBEAT_OK"}
	if _, err := f.eng.RunJob(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	r := <-results
	if !r.Suppressed || r.Delivered || r.Usage.Total() != 10 {
		t.Fatalf("quiet heartbeat: %+v", r)
	}
	job.RunID, job.Text = "hb-2", "alert me"
	if _, err := f.eng.RunJob(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	r = <-results
	if r.Suppressed || !r.Delivered {
		t.Fatalf("alert: %+v", r)
	}
	got := f.ch.waitFinals(t, 1)
	if got[0].To != target || got[0].Text != "Your 5 pm meeting moved to 6." {
		t.Fatalf("delivered %+v", got[0])
	}
	// The same run id is not run twice.
	if rc, err := f.eng.RunJob(context.Background(), job); err != nil || rc.Status != engine.Duplicate {
		t.Fatalf("rerun: %+v %v", rc, err)
	}
	if _, err := f.eng.RunJob(context.Background(), Job{RunID: "x"}); !errors.Is(err, ErrBadJob) {
		t.Fatalf("bad job: %v", err)
	}
}

func TestJobNeverBlocksTheConversation(t *testing.T) {
	g := newGated()
	f := newFixture(t, g, nil)
	if _, err := f.eng.RunJob(context.Background(), Job{RunID: "r1", Kind: "routine", UserID: f.owner.ID, SessionKey: "job:routine:1", Text: "slow routine"}); err != nil {
		t.Fatal(err)
	}
	waitStart(t, g, "slow routine")
	f.accept(msg("c", "1", "hello"))
	waitStart(t, g, "hello") // runs while the routine is still going
	g.release <- struct{}{}
	g.release <- struct{}{}
	got := f.ch.waitFinals(t, 1)
	if got[0].Text != "echo: hello" {
		t.Fatalf("reply %q", got[0].Text)
	}
}
