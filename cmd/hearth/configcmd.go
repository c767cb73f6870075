package main

import (
	"context"
	"fmt"
)

func runConfig(_ context.Context, e env) error {
	fs := newFlags("config")
	format := fs.String("format", "yaml", "output format of show: yaml or json")
	if err := parse(fs, e); err != nil {
		return helpOK(err)
	}
	sub := "show"
	if fs.NArg() > 0 {
		sub = fs.Arg(0)
	}
	cfg, warnings, err := load(fs, e)
	switch sub {
	case "show":
		if err != nil {
			return err
		}
		return cfg.Show(e.stdout, *format)
	case "validate":
		if err != nil {
			return err
		}
		if err := cfg.Validate(true); err != nil {
			return err
		}
		if len(warnings) > 0 {
			return fmt.Errorf("%d unknown key(s)", len(warnings))
		}
		_, err := fmt.Fprintln(e.stdout, "configuration is valid")
		return err
	}
	return usageError{"unknown config command " + sub + " (show, validate)"}
}
