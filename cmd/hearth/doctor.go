package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hearthbot/hearth/bot"
)

func runDoctor(ctx context.Context, e env) error {
	fs := newFlags("doctor")
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	cfg, warnings, err := load(fs, e)
	if err != nil {
		return err
	}
	log, closeLog, err := logger(cfg, e, false, slog.LevelError)
	if err != nil {
		return err
	}
	defer closeLog()
	if bot.PrintChecks(e.stdout, bot.Doctor(ctx, cfg, bot.DoctorOptions{Unknown: warnings, Logger: log})) {
		return errors.New("some checks failed; see the fixes above")
	}
	return nil
}
