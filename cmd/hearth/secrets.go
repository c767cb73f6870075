package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/hearthbot/hearth/bot"
	"github.com/hearthbot/hearth/sandbox/secrets"
)

// secretsUsage is the synopsis of `hearth secrets`.
const secretsUsage = "usage: hearth secrets set NAME [--user ID|NAME] < VALUE | ls [--user ID|NAME] | rm NAME [--user ID|NAME]"

// runSecrets sets, lists and removes users' secrets (the values tools
// have injected into their HTTP requests). A value is read from a hidden
// prompt on a terminal, else from standard input; never from the command
// line, where other users of the machine and the shell history see it.
func runSecrets(ctx context.Context, e env) error {
	var user string
	b, args, err := openAdmin(ctx, e, "secrets", func(fs *pflag.FlagSet) {
		fs.StringVar(&user, "user", "", "the user, by id or name (set, rm: default the owner; ls: default everyone)")
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) == 0 {
		return usageError{secretsUsage}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "set":
		switch {
		case len(args) == 0:
			return usageError{"usage: hearth secrets set NAME [--user ID|NAME] < VALUE"}
		case len(args) > 1:
			return usageError{"hearth secrets set takes only the NAME: the value is read from a hidden prompt or standard input, never from the command line"}
		}
		value, err := readSecretValue(e, args[0])
		if err != nil {
			return err
		}
		defer clear(value)
		u, err := b.SetSecret(ctx, lookupEnvOf(e.environ), user, args[0], value)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "Set secret %s of user %s. Tools granted it get it at their next call.\n", args[0], u.ID)
		return err
	case "ls", "list":
		if len(args) != 0 {
			return usageError{"usage: hearth secrets ls [--user ID|NAME]"}
		}
		list, err := b.ListSecrets(ctx, user)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			_, err := fmt.Fprintln(e.stdout, "No secrets.")
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tNAME\tUPDATED\tLAST USED")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.User.ID, s.Name, localTime(s.UpdatedAt), localTime(s.LastUsed))
		}
		return tw.Flush()
	case "rm", "remove":
		if len(args) != 1 {
			return usageError{"usage: hearth secrets rm NAME [--user ID|NAME]"}
		}
		u, err := b.DeleteSecret(ctx, user, args[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "Removed secret %s of user %s.\n", args[0], u.ID)
		return err
	}
	return usageError{"unknown secrets command " + sub + " (" + strings.TrimPrefix(secretsUsage, "usage: hearth secrets ") + ")"}
}

// readSecretValue asks for the value with a hidden prompt when standard
// input is a terminal, else reads standard input to its end (one trailing
// line break is dropped). An empty value is refused.
func readSecretValue(e env, name string) ([]byte, error) {
	if f, ok := e.stdin.(*os.File); ok && e.interactive {
		fmt.Fprintf(e.stderr, "Value of %s (not shown): ", name)
		v, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the value: %w", err)
		}
		if len(v) == 0 {
			return nil, errors.New("no value entered; nothing was changed")
		}
		return secrets.ReadValue(bytes.NewReader(v))
	}
	raw, err := io.ReadAll(io.LimitReader(e.stdin, secrets.MaxValueLen+3))
	if err != nil {
		return nil, fmt.Errorf("reading the value from standard input: %w", err)
	}
	defer clear(raw)
	if len(bytes.TrimRight(raw, "\r\n")) == 0 {
		return nil, fmt.Errorf("no value on standard input; nothing was changed (give it there, as in: printf %%s \"$VALUE\" | hearth secrets set %s)", name)
	}
	return secrets.ReadValue(bytes.NewReader(raw))
}

// lookupEnvOf reads variables from a KEY=value list; the last wins, as
// in a process environment.
func lookupEnvOf(environ []string) bot.LookupEnv {
	return func(name string) (string, bool) {
		for i := len(environ) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
				return v, true
			}
		}
		return "", false
	}
}
