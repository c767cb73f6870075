package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/schedule"
)

// routinesUsage is the synopsis of `hearth routines`.
const routinesUsage = "usage: hearth routines ls [--user ID|NAME] | show ID | rm ID | run ID [--wait DURATION]"

// runRoutines lists, shows, deletes and runs routines. Routines are
// created by asking the assistant; `run` asks the running Hearth
// process(es) to run one now (they pick the request up within
// schedule.sync_interval), and with --wait reports its outcome.
func runRoutines(ctx context.Context, e env) error {
	var user string
	var waitFor time.Duration
	b, args, err := openAdmin(ctx, e, "routines", func(fs *pflag.FlagSet) {
		fs.StringVar(&user, "user", "", "ls: only this user's routines (by id or name)")
		fs.DurationVar(&waitFor, "wait", 0, "run: wait this long for the run to finish and print its outcome")
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) == 0 {
		return usageError{routinesUsage}
	}
	sub, args := args[0], args[1:]
	needID := func() (string, error) {
		if len(args) != 1 || args[0] == "" {
			return "", usageError{"usage: hearth routines " + sub + " ID"}
		}
		return args[0], nil
	}
	switch sub {
	case "ls", "list":
		if len(args) != 0 {
			return usageError{"usage: hearth routines ls [--user ID|NAME]"}
		}
		userID := ""
		if user != "" {
			u, err := b.FindUser(ctx, user)
			if err != nil {
				return err
			}
			userID = u.ID
		}
		list, err := b.RoutineList(ctx, userID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "No routines. Ask the assistant to create one (\"remind me every Monday at 9 to ...\").")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tSCHEDULE\tSTATUS\tNEXT RUN\tLAST RUN")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, short(r.UserID), r.Name, schedule.Describe(r.Schedule),
				r.Status, when(r.NextRunAt, r.Schedule.Timezone), when(r.LastRunAt, r.Schedule.Timezone))
		}
		return tw.Flush()
	case "show":
		id, err := needID()
		if err != nil {
			return err
		}
		r, runs, err := b.RoutineShow(ctx, id, 10)
		if err != nil {
			return err
		}
		printRoutine(e, r, runs)
		return nil
	case "rm", "delete":
		id, err := needID()
		if err != nil {
			return err
		}
		if err := b.RoutineDelete(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Deleted routine %s. Running Hearth processes drop it at its next time at the latest.\n", id)
		return nil
	case "run":
		id, err := needID()
		if err != nil {
			return err
		}
		at, err := b.RoutineRequestRun(ctx, id)
		if err != nil {
			return err
		}
		every := b.Config().Schedule.SyncInterval
		if waitFor <= 0 {
			fmt.Fprintf(e.stdout, "Asked to run routine %s now: a running Hearth (hearth serve or the console) starts it within %s, "+
				"or at its next start. Its answer goes where its answers always go; `hearth routines show %s` shows the run.\n", id, every, id)
			return nil
		}
		return waitRun(ctx, e, id, at, waitFor, func(ctx context.Context) (engine.RunRecord, bool, error) {
			return b.RoutineRunSince(ctx, id, at)
		})
	}
	return usageError{"unknown routines command " + sub + " (" + routinesUsage[len("usage: hearth routines "):] + ")"}
}

// waitRun polls for the requested run until it has finished or waitFor
// has passed.
func waitRun(ctx context.Context, e env, id string, since time.Time, waitFor time.Duration,
	find func(context.Context) (engine.RunRecord, bool, error)) error {
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		r, ok, err := find(ctx)
		if err != nil {
			return err
		}
		if ok && r.Outcome != engine.RunRunning {
			fmt.Fprintf(e.stdout, "Routine %s ran: %s.\n", id, outcome(r))
			if r.Outcome == engine.RunFailed {
				return fmt.Errorf("the run failed: %s", r.Detail)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if ok {
				return fmt.Errorf("routine %s is still running after %s", id, waitFor)
			}
			return fmt.Errorf("no Hearth process took the request within %s (asked at %s); is hearth serve running?",
				waitFor, since.Local().Format(time.TimeOnly))
		case <-tick.C:
		}
	}
}

func printRoutine(e env, r engine.Routine, runs []engine.RunRecord) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	tz := r.Schedule.Timezone
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("id", r.ID)
	row("user", r.UserID)
	row("name", r.Name)
	row("schedule", schedule.Describe(r.Schedule))
	status := string(r.Status)
	if r.StatusReason != "" {
		status += " (" + r.StatusReason + ")"
	}
	row("status", status)
	row("next run", when(r.NextRunAt, tz))
	row("last run", when(r.LastRunAt, tz))
	row("session", string(r.Session))
	deliver := string(r.Deliver)
	if r.Deliver == engine.DeliverOrigin {
		deliver += fmt.Sprintf(" (%s/%s)", r.CreatedFrom.Channel, r.CreatedFrom.Conversation)
	}
	row("deliver", deliver)
	row("missed runs", string(r.Missed))
	row("created", when(r.CreatedAt, tz))
	if !r.RunRequestedAt.IsZero() {
		row("run requested", when(r.RunRequestedAt, tz))
	}
	row("prompt", strings.ReplaceAll(r.Prompt, "\n", " "))
	_ = tw.Flush()
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "\nNo runs yet.")
		return
	}
	fmt.Fprintln(e.stdout, "\nRecent runs:")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tSTARTED\tOUTCOME\tTOKENS")
	for _, rr := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", when(rr.ScheduledAt, tz), when(rr.StartedAt, tz), outcome(rr), rr.Usage.Total())
	}
	_ = tw.Flush()
}

// outcome describes how a run ended.
func outcome(r engine.RunRecord) string {
	s := string(r.Outcome)
	switch {
	case r.Delivered:
		s += ", delivered"
	case r.Suppressed:
		s += ", nothing to report"
	}
	if r.Detail != "" && !r.Suppressed {
		s += " (" + r.Detail + ")"
	}
	return s
}

// when formats a time in a timezone; "-" for zero.
func when(t time.Time, tz string) string {
	if t.IsZero() {
		return "-"
	}
	if loc, err := schedule.LoadTimezone(tz); err == nil {
		t = t.In(loc)
	} else {
		t = t.Local()
	}
	return t.Format("Mon 2006-01-02 15:04 MST")
}

// short abbreviates a long id for tables.
func short(id string) string {
	if len(id) > 12 {
		return id[:8] + "…"
	}
	return id
}
