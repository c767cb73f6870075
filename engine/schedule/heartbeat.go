package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
)

// heartbeatSessionKey is the session key of heartbeat turns: they never
// enter, or wait for, the user's conversation.
const heartbeatSessionKey = "job:heartbeat"

func (s *Scheduler) heartbeatTiming(u engine.User) (timing, string) {
	loc := s.userLoc(u)
	w, _ := parseActiveHours(s.o.Heartbeat.ActiveHours, loc) // validated in New
	return heartbeatTiming(u.ID, s.o.Heartbeat.Interval, w), s.heartbeatFingerprint(u)
}

// heartbeatFingerprint changes when the user's heartbeat times do.
func (s *Scheduler) heartbeatFingerprint(u engine.User) string {
	return s.userLoc(u).String()
}

// loadHeartbeat returns the stored heartbeat of a user, or a fresh one.
func (s *Scheduler) loadHeartbeat(ctx context.Context, userID string) (engine.HeartbeatState, error) {
	hb, err := s.o.Store.GetHeartbeat(ctx, userID)
	if errors.Is(err, engine.ErrNotFound) {
		return engine.HeartbeatState{UserID: userID}, nil
	}
	if err != nil {
		return hb, fmt.Errorf("heartbeat of %s: %w", userID, err)
	}
	return hb, nil
}

// updateHeartbeat changes a user's heartbeat under its stripe lock.
func (s *Scheduler) updateHeartbeat(ctx context.Context, userID string, fn func(*engine.HeartbeatState)) (engine.HeartbeatState, error) {
	mu := s.stripe(heartbeatKey(userID))
	mu.Lock()
	defer mu.Unlock()
	hb, err := s.loadHeartbeat(ctx, userID)
	if err != nil {
		return hb, err
	}
	fn(&hb)
	hb.UpdatedAt = s.clock.Now()
	if err := s.o.Store.PutHeartbeat(ctx, hb); err != nil {
		return hb, fmt.Errorf("heartbeat of %s: %w", userID, err)
	}
	return hb, nil
}

// runHeartbeat checks one user's HEARTBEAT.md for the slot. Everything
// that makes the check pointless (paused, outside active hours, an empty
// checklist, nowhere to deliver, the budget spent) skips it before any
// model call.
func (s *Scheduler) runHeartbeat(ctx context.Context, userID string, slot time.Time, trig trigger) Event {
	ev := Event{Phase: PhaseSkipped, Kind: engine.RunHeartbeat, UserID: userID, Slot: slot}
	skip := func(detail string) Event {
		ev.Detail = detail
		s.emit(ev)
		return ev
	}
	user, err := s.o.Store.GetUser(ctx, userID)
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			s.unarm(heartbeatKey(userID))
		}
		return skip("user: " + err.Error())
	}
	hb, err := s.loadHeartbeat(ctx, userID)
	if err != nil {
		return skip(err.Error())
	}
	if hb.Paused && trig.scheduled() {
		s.unarm(heartbeatKey(userID))
		return skip("paused")
	}
	loc := s.userLoc(user)
	if w, _ := parseActiveHours(s.o.Heartbeat.ActiveHours, loc); trig.scheduled() && w != nil && !w.contains(slot) {
		return skip("outside active hours")
	}
	doc, err := s.readChecklist(ctx, userID)
	if err != nil {
		s.log.Warn("reading HEARTBEAT.md failed; check skipped", "user", userID, "err", err)
		return skip("reading " + s.o.Heartbeat.Path + ": " + err.Error())
	}
	if EffectivelyEmpty(doc) {
		return skip(s.o.Heartbeat.Path + " is empty")
	}
	target := hb.Target
	if target.Channel == "" {
		target = s.lastConversation(ctx, userID)
	}
	if target.Channel == "" {
		return skip("no conversation to deliver to: the user has not written to the assistant directly")
	}
	ok, err := s.withinBudget(ctx, user, target)
	if err != nil {
		return skip(err.Error())
	}
	if !ok {
		return skip("daily token budget spent")
	}

	now := s.clock.Now()
	runID := heartbeatRunID(userID, slot)
	if !trig.scheduled() {
		runID = manualRunID("heartbeat", userID, now)
	}
	rec := engine.RunRecord{RunID: runID, Kind: engine.RunHeartbeat, UserID: userID, ScheduledAt: slot,
		StartedAt: now, Outcome: engine.RunRunning, Target: target}
	started, err := s.o.Store.StartRun(ctx, rec)
	if err != nil {
		return skip("recording the run: " + err.Error())
	}
	if !started {
		ev.Phase, ev.RunID = PhaseDuplicate, runID
		s.emit(ev)
		return ev
	}
	if err := s.freshHeartbeatSession(ctx, user, now); err != nil {
		rec.Outcome, rec.Detail, rec.FinishedAt = engine.RunFailed, "session: "+err.Error(), now
		_ = s.o.Store.FinishRun(ctx, rec)
		return skip(rec.Detail)
	}
	if _, err := s.updateHeartbeat(ctx, userID, func(h *engine.HeartbeatState) {
		if trig.scheduled() {
			h.LastSlot = slot
		}
		h.LastRunAt = now
	}); err != nil {
		s.log.Warn("saving heartbeat state failed", "user", userID, "err", err)
	}
	job := runtime.Job{
		RunID: runID, Kind: string(engine.RunHeartbeat), UserID: userID, SessionKey: heartbeatSessionKey,
		Address: engine.Address{Channel: runtime.JobChannel, Conversation: "heartbeat"},
		Text:    heartbeatPrompt(s.o.Heartbeat.Path, doc, slot.In(loc)),
		// No DeliverTo: the scheduler delivers alerts itself after the
		// repeat check (heartbeatDone).
		Sentinel: HeartbeatOK,
	}
	return s.start(ctx, rec, job, trig.scheduled())
}

// freshHeartbeatSession starts a new session for each check (with the
// heartbeat model), so checks carry no history: each costs only its
// checklist, and nothing ever needs compacting.
func (s *Scheduler) freshHeartbeatSession(ctx context.Context, u engine.User, now time.Time) error {
	return s.o.Store.CreateSession(ctx, engine.Session{
		ID: engine.NewID(), UserID: u.ID, Key: heartbeatSessionKey, Active: true, Model: s.o.Heartbeat.Model,
		Address:   engine.Address{Channel: runtime.JobChannel, Conversation: "heartbeat"},
		CreatedAt: now, UpdatedAt: now,
	})
}

func (s *Scheduler) readChecklist(ctx context.Context, userID string) (string, error) {
	if s.o.Docs == nil {
		return "", nil
	}
	doc, err := s.o.Docs.ReadDoc(ctx, userID, s.o.Heartbeat.Path)
	if errors.Is(err, engine.ErrNotFound) {
		return "", nil
	}
	return doc, err
}

func heartbeatPrompt(path, doc string, at time.Time) string {
	return fmt.Sprintf(`[Heartbeat check, %s]
Go through the user's checklist below (%s). If nothing needs the user's attention now, answer exactly %s and nothing else. Otherwise answer with a short alert for the user that says only what needs attention.

--- %s ---
%s`, at.Format("Monday 2006-01-02 15:04 MST"), path, HeartbeatOK, path, strings.TrimSpace(doc))
}

// heartbeatDone records a check's result: a failure counts towards the
// pause, a quiet answer is only recorded, an alert is delivered unless
// the same alert went out within the dedupe window.
func (s *Scheduler) heartbeatDone(ctx context.Context, rec *engine.RunRecord, r runtime.JobResult) {
	now := s.clock.Now()
	var notice string
	_, err := s.updateHeartbeat(ctx, rec.UserID, func(hb *engine.HeartbeatState) {
		switch {
		case r.Err != nil:
			rec.Outcome, rec.Detail = engine.RunFailed, failureDetail(r)
			hb.Failures++
			if max := s.o.Heartbeat.MaxFailures; max > 0 && hb.Failures >= max && !hb.Paused {
				hb.Paused = true
				hb.PauseReason = fmt.Sprintf("paused after %d failed checks in a row", hb.Failures)
				notice = fmt.Sprintf("I paused your heartbeat after %d failed checks in a row. The last one said: %s\n"+
					"It stays paused until you resume it (/heartbeat resume in the console, or ask me).", hb.Failures, r.Reply)
			}
		case r.Suppressed:
			rec.Outcome, rec.Suppressed, rec.Detail = engine.RunOK, true, "nothing needs attention"
			hb.Failures = 0
		default:
			rec.Outcome = engine.RunOK
			hb.Failures = 0
			h := alertHash(r.Reply)
			switch {
			case h == hb.LastAlertHash && now.Sub(hb.LastAlertAt) < s.o.Heartbeat.DedupeWindow:
				rec.Suppressed = true
				rec.Detail = "the same alert was sent at " + hb.LastAlertAt.Format(time.RFC3339)
			case rec.Target.Channel == "":
				rec.Detail = "no conversation to deliver to"
			case s.notify(ctx, rec.Target, r.Reply):
				rec.Delivered = true
				hb.LastAlertHash, hb.LastAlertAt = h, now
			default:
				rec.Detail = "delivery failed"
			}
		}
	})
	if err != nil {
		s.log.Error("saving heartbeat state failed", "user", rec.UserID, "err", err)
	}
	if notice != "" {
		s.unarm(heartbeatKey(rec.UserID))
		s.notify(ctx, rec.Target, notice)
		s.log.Warn("heartbeat paused after repeated failures", "user", rec.UserID, "err", r.Err)
	}
}

// EffectivelyEmpty reports whether a checklist has nothing to check: only
// headings, HTML comments, blank lines, empty list items and rules.
func EffectivelyEmpty(doc string) bool {
	for {
		i := strings.Index(doc, "<!--")
		if i < 0 {
			break
		}
		j := strings.Index(doc[i+4:], "-->")
		if j < 0 {
			doc = doc[:i]
			break
		}
		doc = doc[:i] + "\n" + doc[i+4+j+3:]
	}
	for line := range strings.Lines(doc) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimLeft(t, "-*+>[] xX")
		if strings.TrimFunc(t, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r) }) == "" {
			continue // a rule, an empty item or checkbox
		}
		return false
	}
	return true
}

// alertHash identifies an alert up to case, punctuation and spacing.
func alertHash(text string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		default:
			space = true
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// HeartbeatStatus describes one user's heartbeat.
type HeartbeatStatus struct {
	Enabled     bool
	Paused      bool
	PauseReason string
	Interval    time.Duration
	ActiveHours string
	Timezone    string
	// Next is the next check in this process (zero when not armed).
	Next time.Time
	// Target is the chosen target (zero: the last conversation).
	Target    engine.Address
	Failures  int
	LastRun   *engine.RunRecord
	UsedToday engine.Usage
	Budget    int
}

// HeartbeatStatus returns a user's heartbeat settings and state.
func (s *Scheduler) HeartbeatStatus(ctx context.Context, userID string) (HeartbeatStatus, error) {
	u, err := s.o.Store.GetUser(ctx, userID)
	if err != nil {
		return HeartbeatStatus{}, err
	}
	hb, err := s.loadHeartbeat(ctx, userID)
	if err != nil {
		return HeartbeatStatus{}, err
	}
	loc := s.userLoc(u)
	now := s.clock.Now().In(loc)
	used, err := s.o.Store.UsageSince(ctx, userID, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc))
	if err != nil {
		return HeartbeatStatus{}, err
	}
	st := HeartbeatStatus{Enabled: s.o.Heartbeat.Enabled, Paused: hb.Paused, PauseReason: hb.PauseReason,
		Interval: s.o.Heartbeat.Interval, ActiveHours: s.o.Heartbeat.ActiveHours, Timezone: loc.String(),
		Next: s.NextFire(engine.RunHeartbeat, userID), Target: hb.Target, Failures: hb.Failures,
		UsedToday: used, Budget: s.o.Heartbeat.DailyTokenBudget}
	runs, err := s.o.Store.ListRuns(ctx, engine.RunFilter{UserID: userID, Kind: engine.RunHeartbeat, Limit: 1})
	if err != nil {
		return HeartbeatStatus{}, err
	}
	if len(runs) == 1 {
		st.LastRun = &runs[0]
	}
	return st, nil
}

// PauseHeartbeat pauses a user's heartbeat until ResumeHeartbeat.
func (s *Scheduler) PauseHeartbeat(ctx context.Context, userID string) error {
	if _, err := s.updateHeartbeat(ctx, userID, func(h *engine.HeartbeatState) {
		h.Paused, h.PauseReason = true, "paused by the user"
	}); err != nil {
		return err
	}
	s.unarm(heartbeatKey(userID))
	return nil
}

// ResumeHeartbeat resumes a paused heartbeat and clears its failures.
func (s *Scheduler) ResumeHeartbeat(ctx context.Context, userID string) error {
	u, err := s.o.Store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.updateHeartbeat(ctx, userID, func(h *engine.HeartbeatState) {
		h.Paused, h.PauseReason, h.Failures = false, "", 0
	}); err != nil {
		return err
	}
	if s.o.Heartbeat.Enabled {
		t, fp := s.heartbeatTiming(u)
		return s.arm(heartbeatKey(userID), fp, t)
	}
	return nil
}

// SetHeartbeatTarget chooses where a user's alerts go; a zero address
// means the conversation the user last wrote from.
func (s *Scheduler) SetHeartbeatTarget(ctx context.Context, userID string, to engine.Address) error {
	to.ReplyTo = ""
	_, err := s.updateHeartbeat(ctx, userID, func(h *engine.HeartbeatState) { h.Target = to })
	return err
}

// RunHeartbeatNow checks a user's heartbeat now, outside its schedule (and
// its active hours). It returns when the check was started or skipped;
// the event says which and why.
func (s *Scheduler) RunHeartbeatNow(ctx context.Context, userID string) (Event, error) {
	if !s.running() {
		return Event{}, ErrNotStarted
	}
	return s.runHeartbeat(ctx, userID, s.clock.Now(), triggerManual), nil
}
