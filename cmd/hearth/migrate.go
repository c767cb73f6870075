package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/hearthbot/hearth/memory/postgres"
)

// runMigrate shows (status) or applies (up) the PostgreSQL schema
// migrations of database.url. Hearth applies them itself at start, under
// an advisory lock; this command lets an operator look first, or migrate
// before rolling out new processes.
func runMigrate(ctx context.Context, e env) error {
	fs := newFlags("migrate")
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	sub := "status"
	if fs.NArg() > 0 {
		sub = fs.Arg(0)
	}
	if fs.NArg() > 1 {
		return usageError{"usage: hearth migrate [status|up]"}
	}
	if sub != "status" && sub != "up" {
		return usageError{"unknown migrate command " + sub + " (status, up)"}
	}
	cfg, _, err := load(fs, e)
	if err != nil {
		return err
	}
	if cfg.Database.URL == "" {
		_, err := fmt.Fprintf(e.stdout, "database.url is not set: the embedded store (%s) is used, and it migrates itself when opened.\n"+
			"hearth migrate works on a PostgreSQL database (database.url or HEARTH_DATABASE__URL).\n", cfg.Database.Path)
		return err
	}
	log, closeLog, err := logger(cfg, e, false, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	opts := postgres.Options{Logger: log}
	if sub == "up" {
		applied, err := postgres.Migrate(ctx, cfg.Database.URL, opts)
		if err != nil {
			return err
		}
		for _, m := range applied {
			fmt.Fprintf(e.stdout, "applied %05d %s\n", m.Version, m.Name)
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stdout, "The database is up to date.")
		}
		return nil
	}
	states, err := postgres.Status(ctx, cfg.Database.URL, opts)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	pending, unknown := 0, 0
	for _, m := range states {
		name, state, when := m.Name, "pending", ""
		if m.Applied {
			state = "applied"
			if !m.AppliedAt.IsZero() {
				when = m.AppliedAt.Local().Format(time.DateTime)
			}
		} else {
			pending++
		}
		if name == "" {
			name, state = "(unknown to this build)", "applied"
			unknown++
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", m.Version, name, state, when)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case unknown > 0:
		fmt.Fprintln(e.stdout, "The database is newer than this build: upgrade Hearth before starting it.")
	case pending > 0:
		fmt.Fprintf(e.stdout, "%d pending: run 'hearth migrate up' (or start Hearth, which applies them).\n", pending)
	default:
		fmt.Fprintln(e.stdout, "The database is up to date.")
	}
	return nil
}
