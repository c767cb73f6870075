package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/spf13/pflag"
)

// newFlags returns a flag set with the configuration flags every command
// takes.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("hearth "+name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.RegisterFlags(fs)
	return fs
}

// parse parses args; -h prints the flags and stops.
func parse(fs *pflag.FlagSet, e env) error {
	if err := fs.Parse(e.args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(e.stdout, "Usage of %s:\n%s", fs.Name(), fs.FlagUsages())
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	return nil
}

// errHelpShown ends a command after -h without an error message.
var errHelpShown = errors.New("help shown")

// load reads the configuration and prints unknown-key warnings.
func load(fs *pflag.FlagSet, e env) (*config.Config, []config.Warning, error) {
	cfg, warnings, err := config.Load(config.LoadOptions{FlagSet: fs, Environ: e.environ})
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	if err != nil {
		return nil, warnings, err
	}
	return cfg, warnings, nil
}

// logger builds the process log. The interactive console logs to
// $HEARTH_HOME/hearth.log so that lines do not break into the prompt.
func logger(cfg *config.Config, e env, console bool, minLevel slog.Level) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	if level < minLevel {
		level = minLevel
	}
	w, closeFn := e.stderr, func() {}
	if console && e.interactive {
		if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
			return nil, nil, fmt.Errorf("home %s: %w", cfg.Home, err)
		}
		f, err := os.OpenFile(filepath.Join(cfg.Home, "hearth.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closeFn = f, func() { _ = f.Close() }
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if strings.EqualFold(cfg.Log.Format, "json") {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), closeFn, nil
}
