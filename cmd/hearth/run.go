package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hearthbot/hearth/bot"
)

// grace bounds a graceful shutdown: running turns get this long to finish
// before they are checkpointed (left pending, answered after restart).
const grace = 10 * time.Second

func runREPL(ctx context.Context, e env) error  { return runBot(ctx, e, "repl", bot.ModeREPL) }
func runServe(ctx context.Context, e env) error { return runBot(ctx, e, "serve", bot.ModeServe) }

func runBot(ctx context.Context, e env, name string, mode bot.Mode) error {
	fs := newFlags(name)
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + fs.Args()[0]}
	}
	cfg, _, err := load(fs, e)
	if err != nil {
		return err
	}
	log, closeLog, err := logger(cfg, e, mode == bot.ModeREPL, slog.LevelDebug)
	if err != nil {
		return err
	}
	defer closeLog()
	b, err := bot.New(ctx, cfg, bot.Options{
		Mode: mode, Stdin: e.stdin, Stdout: e.stdout, Interactive: e.interactive,
		Logger: log, Version: version,
	})
	if err != nil {
		return err
	}
	defer b.Close()
	if addr := b.WebhookAddr(); addr != "" {
		log.Info("webhook listening", "addr", addr)
	}
	return b.Run(ctx, grace)
}

func runOnce(ctx context.Context, e env) error {
	fs := newFlags("run")
	msg := fs.StringP("message", "m", "", "the message to answer (required)")
	timeout := fs.Duration("timeout", 0, "give up after this long (default: agent.turn_timeout)")
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	if *msg == "" {
		return usageError{"-m TEXT is required, e.g. hearth run -m \"what time is it?\""}
	}
	cfg, _, err := load(fs, e)
	if err != nil {
		return err
	}
	log, closeLog, err := logger(cfg, e, false, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	b, err := bot.New(ctx, cfg, bot.Options{Mode: bot.ModeOnce, Message: *msg, Stdout: e.stdout, Logger: log, Version: version})
	if err != nil {
		return err
	}
	defer b.Close()
	return b.Run(ctx, grace)
}

// helpOK turns the -h sentinel into success.
func helpOK(err error) error {
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}
