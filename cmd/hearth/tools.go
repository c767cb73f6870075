package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/hearthbot/hearth/sandbox"
)

// toolsUsage is the synopsis of `hearth tools`.
const toolsUsage = "usage: hearth tools install PATH.wasm [--yes] | ls | run NAME [--params JSON] [--user ID|NAME]"

// runTools installs, lists and runs WASM tools. install loads the module
// fully, shows what it asks for and copies it into the tools directory
// only when confirmed; run calls one tool through the whole sandbox, with
// the user's secrets and the audit log, and exits 1 on a tool error.
func runTools(ctx context.Context, e env) error {
	var (
		yes          bool
		params, user string
	)
	b, args, err := openAdmin(ctx, e, "tools", func(fs *pflag.FlagSet) {
		fs.BoolVarP(&yes, "yes", "y", false, "install: do not ask; for scripts (required when standard input is not a terminal)")
		fs.StringVar(&params, "params", "{}", "run: the tool's parameters as a JSON object")
		fs.StringVar(&user, "user", "", "run: the user the call is made for, by id or name (default the owner)")
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) == 0 {
		return usageError{toolsUsage}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "install":
		if len(args) != 1 {
			return usageError{"usage: hearth tools install PATH.wasm [--yes] (NAME.capabilities.json must lie beside it)"}
		}
		rev, dir, err := b.InstallTool(ctx, args[0], func(r sandbox.Review) (bool, error) { return confirmInstall(e, r, yes) })
		if errors.Is(err, sandbox.ErrDeclined) {
			return errors.New("installation declined; nothing was changed")
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "Installed %s into %s. A running Hearth loads it within %s.\n",
			rev.Name, dir, b.Config().Sandbox.ReloadInterval)
		return err
	case "ls", "list":
		if len(args) != 0 {
			return usageError{"usage: hearth tools ls"}
		}
		rows, err := b.ToolStatuses(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSOURCE\tSTATUS\tDESCRIPTION")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Source, oneLine(r.Status, 120), oneLine(r.Description, 72))
		}
		return tw.Flush()
	case "run":
		if len(args) != 1 {
			return usageError{"usage: hearth tools run NAME [--params JSON] [--user ID|NAME]"}
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(params), &obj); err != nil || obj == nil {
			return usageError{fmt.Sprintf("--params must be a JSON object such as '{\"text\":\"hi\"}', got %s", oneLine(params, 80))}
		}
		res, err := b.RunTool(ctx, lookupEnvOf(e.environ), args[0], user, json.RawMessage(params))
		if err != nil {
			return err
		}
		if res.IsError {
			return errors.New(printable(res.Content))
		}
		_, err = fmt.Fprintln(e.stdout, printable(res.Content))
		return err
	}
	return usageError{"unknown tools command " + sub + " (" + strings.TrimPrefix(toolsUsage, "usage: hearth tools ") + ")"}
}

// confirmInstall shows the review and asks on the terminal; --yes skips
// the question. Without a terminal and without --yes nothing is installed.
func confirmInstall(e env, r sandbox.Review, yes bool) (bool, error) {
	if _, err := fmt.Fprint(e.stdout, r.String()); err != nil {
		return false, err
	}
	if yes {
		return true, nil
	}
	if !e.interactive {
		return false, usageError{"standard input is not a terminal, so nobody can confirm: review the above and run again with --yes to install"}
	}
	fmt.Fprintf(e.stdout, "\n%s %s? [y/N] ", map[bool]string{true: "Replace", false: "Install"}[r.Replaces], r.Name)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// isControl reports characters a terminal may act on.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// printable replaces control characters other than line breaks and tabs,
// so a tool's output cannot drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && isControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// oneLine makes s safe and short for a table cell: control characters
// (a terminal escape in a tool's error, say) become spaces, and the text
// is cut at max runes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
