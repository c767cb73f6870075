package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/hearthbot/hearth/bot"
	"github.com/spf13/pflag"
)

// openAdmin builds a bot that opens the store only.
func openAdmin(ctx context.Context, e env, name string, extra func(*pflag.FlagSet)) (*bot.Bot, []string, error) {
	fs := newFlags(name)
	if extra != nil {
		extra(fs)
	}
	if err := parse(fs, e); err != nil {
		return nil, nil, err
	}
	cfg, _, err := load(fs, e)
	if err != nil {
		return nil, nil, err
	}
	log, closeLog, err := logger(cfg, e, false, slog.LevelWarn)
	if err != nil {
		return nil, nil, err
	}
	defer closeLog()
	b, err := bot.New(ctx, cfg, bot.Options{Mode: bot.ModeAdmin, Logger: log, Version: version})
	if err != nil {
		return nil, nil, err
	}
	return b, fs.Args(), nil
}

func runPairing(ctx context.Context, e env) error {
	b, args, err := openAdmin(ctx, e, "pairing", nil)
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	sub := "list"
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list", "ls":
		pending, err := b.Gate.Pending(ctx)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			fmt.Fprintln(e.stdout, "No pending pairing requests.")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tCHANNEL\tSENDER\tNAME\tEXPIRES")
		for _, p := range pending {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.Channel, p.PlatformID, p.DisplayName, p.ExpiresAt.Local().Format(time.DateTime))
		}
		return tw.Flush()
	case "approve", "deny":
		if len(args) != 1 {
			return usageError{"usage: hearth pairing " + sub + " CODE"}
		}
		if sub == "approve" {
			req, _, err := b.Gate.ApproveRequest(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Approved %s on %s (user %s). They can send a message now.\n", displayName(req.DisplayName, req.PlatformID), req.Channel, req.UserID)
			return nil
		}
		req, err := b.Gate.Deny(ctx, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Denied %s on %s.\n", displayName(req.DisplayName, req.PlatformID), req.Channel)
		return nil
	}
	return usageError{"unknown pairing command " + sub + " (list, approve CODE, deny CODE)"}
}

func displayName(name, id string) string {
	if name == "" {
		return id
	}
	return name + " (" + id + ")"
}
