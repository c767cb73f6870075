package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
)

// JobChannel is the channel name of synthetic turns started by the
// scheduler (heartbeats, routines). It is never a real channel.
const JobChannel = "job"

// Meta keys of a job's stored inbound message; they survive a restart.
const (
	metaDeliverChannel = "hearth.deliver.channel"
	metaDeliverConv    = "hearth.deliver.conversation"
	metaDeliverThread  = "hearth.deliver.thread"
	metaSentinel       = "hearth.sentinel"
	metaJobKind        = "hearth.job.kind"
	metaModel          = "hearth.model"
)

// Job is a synthetic turn: a prompt run for a user by the scheduler
// through the same store, actor and agent loop as a message.
type Job struct {
	// RunID identifies this run; it is the deduplication key, so starting
	// the same run twice (two processes, a retry) runs it once.
	RunID string
	// Kind labels the job ("heartbeat", "routine") for logs and results.
	Kind   string
	UserID string
	// SessionKey selects the session: a job-specific key such as
	// "job:heartbeat" keeps the run out of the user's conversation (and
	// never blocks it); the key of a conversation runs it there, in turn.
	SessionKey string
	// Address is the session's address when it must be created.
	Address engine.Address
	// Text is the prompt of the run.
	Text string
	// DeliverTo is where a reply goes; a zero Channel delivers nothing.
	DeliverTo engine.Address
	// Model, when set, runs this job on another model (a cheaper one for
	// heartbeats) than the session's.
	Model string
	// Sentinel, when set, suppresses a reply that is only the sentinel
	// (such as HEARTBEAT_OK) or the sentinel with a little extra text.
	Sentinel string
}

// JobResult reports a finished job run.
type JobResult struct {
	RunID      string
	Kind       string
	UserID     string
	Reply      string
	Usage      engine.Usage
	Delivered  bool
	Suppressed bool
	// Err is set when the run failed; the reply then holds the notice.
	Err error
}

// ErrBadJob: a job without a run id, user, session key or text.
var ErrBadJob = errors.New("invalid job")

// RunJob stores a job's turn and hands it to the session's actor; the
// result arrives through Options.OnJobDone. It returns Duplicate when the
// run id was started before.
func (e *Engine) RunJob(ctx context.Context, j Job) (engine.Receipt, error) {
	if j.RunID == "" || j.UserID == "" || j.SessionKey == "" || strings.TrimSpace(j.Text) == "" {
		return engine.Receipt{}, fmt.Errorf("%w: run id, user, session key and text are required", ErrBadJob)
	}
	e.mu.Lock()
	closing := e.closing
	e.mu.Unlock()
	if closing {
		return engine.Receipt{}, ErrShuttingDown
	}
	user, err := e.o.Store.GetUser(ctx, j.UserID)
	if err != nil {
		return engine.Receipt{}, fmt.Errorf("job %s: user: %w", j.RunID, err)
	}
	stripe := &e.stripes[stripeOf(user.ID+"\x00"+j.SessionKey)]
	stripe.Lock()
	defer stripe.Unlock()
	sess, err := e.o.Store.ActiveSession(ctx, user.ID, j.SessionKey)
	if errors.Is(err, engine.ErrNotFound) {
		now := e.o.Now()
		sess = engine.Session{ID: engine.NewID(), UserID: user.ID, Key: j.SessionKey, Address: j.Address, Active: true, CreatedAt: now, UpdatedAt: now}
		err = e.o.Store.CreateSession(ctx, sess)
	}
	if err != nil {
		return engine.Receipt{}, fmt.Errorf("job %s: session: %w", j.RunID, err)
	}
	in := engine.Inbound{
		Channel: JobChannel, MessageID: j.RunID, Conversation: j.SessionKey,
		Sender: engine.Sender{ID: user.ID}, Direct: true, Text: j.Text, ReceivedAt: e.o.Now(),
		Meta: map[string]string{
			metaDeliverChannel: j.DeliverTo.Channel, metaDeliverConv: j.DeliverTo.Conversation,
			metaDeliverThread: j.DeliverTo.Thread, metaSentinel: j.Sentinel, metaJobKind: j.Kind,
			metaModel: j.Model,
		},
	}
	stored, inserted, err := e.o.Store.SaveInbound(ctx, engine.StoredInbound{
		Inbound: in, UserID: user.ID, SessionID: sess.ID, Status: engine.InboxPending, CreatedAt: e.o.Now(),
	})
	if err != nil {
		return engine.Receipt{}, fmt.Errorf("job %s: persist: %w", j.RunID, err)
	}
	r := engine.Receipt{Status: engine.Queued, ID: stored.ID, MessageID: j.RunID, UserID: user.ID}
	if !inserted {
		r.Status = engine.Duplicate
		return r, nil
	}
	e.dispatch(stored)
	return r, nil
}

// isJob reports whether a stored message is a job's turn.
func isJob(in engine.Inbound) bool { return in.Channel == JobChannel }

// jobTarget is where a job's reply goes (zero: nowhere).
func jobTarget(in engine.Inbound) engine.Address {
	return engine.Address{Channel: in.Meta[metaDeliverChannel], Conversation: in.Meta[metaDeliverConv], Thread: in.Meta[metaDeliverThread]}
}

// suppressed reports whether a reply is only the sentinel, possibly with a
// short acknowledgement ("HEARTBEAT_OK — all quiet"): such replies are not
// sent. Up to 300 characters besides the sentinel count as little.
func suppressed(reply, sentinel string) bool {
	if sentinel == "" {
		return false
	}
	t := strings.TrimSpace(reply)
	t = strings.Trim(t, "*_`")
	if !strings.HasPrefix(t, sentinel) && !strings.HasSuffix(t, sentinel) {
		return false
	}
	rest := strings.TrimSpace(strings.Replace(t, sentinel, "", 1))
	return len(rest) <= 300
}
