package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hearthbot/hearth/engine"
)

// tokensUsage is the synopsis of `hearth tokens`.
const tokensUsage = "usage: hearth tokens create --user ID|NAME [--name LABEL] | ls [--user ID|NAME] | revoke ID"

// runTokens creates, lists and revokes API tokens of the OpenAI-compatible
// API. A new token is printed alone on standard output (so that
// TOKEN=$(hearth tokens create --user ana) works) and never again; the
// explanation goes to standard error.
func runTokens(ctx context.Context, e env) error {
	var user, name string
	b, args, err := openAdmin(ctx, e, "tokens", func(fs *pflag.FlagSet) {
		fs.StringVar(&user, "user", "", "the user, by id or name (create: required; ls: only their tokens)")
		fs.StringVar(&name, "name", "", "a label for the new token, such as the client it is for")
	})
	if err != nil {
		return helpOK(err)
	}
	defer b.Close()
	if len(args) == 0 {
		return usageError{tokensUsage}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		if user == "" || len(args) != 0 {
			return usageError{"usage: hearth tokens create --user ID|NAME [--name LABEL]"}
		}
		rec, text, err := b.CreateAPIToken(ctx, user, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, text)
		c := b.Config().Channels.API
		fmt.Fprintf(e.stderr, "Created API token %s for user %s. Store it now: it is not shown again.\n", rec.ID, rec.UserID)
		fmt.Fprintf(e.stderr, "Use it as the API key of an OpenAI-compatible client: base URL http://%s/v1, model %q.\n", c.Listen, c.Model)
		if !c.Enabled {
			fmt.Fprintln(e.stderr, "The API is not enabled yet: set channels.api.enabled: true (HEARTH_CHANNELS__API__ENABLED=true).")
		}
		return nil
	case "ls", "list":
		if len(args) != 0 {
			return usageError{"usage: hearth tokens ls [--user ID|NAME]"}
		}
		list, err := b.APITokens(ctx, user)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "No API tokens.")
			return nil
		}
		return printTokens(e, list)
	case "revoke":
		if len(args) != 1 {
			return usageError{"usage: hearth tokens revoke ID"}
		}
		rec, err := b.RevokeAPIToken(ctx, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Revoked API token %s (%s) of user %s.\n", rec.ID, rec.Hint, rec.UserID)
		return nil
	}
	return usageError{"unknown tokens command " + sub + " (" + tokensUsage[len("usage: hearth tokens "):] + ")"}
}

func printTokens(e env, list []engine.APIToken) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tTOKEN\tCREATED\tLAST USED\tSTATUS")
	for _, t := range list {
		status := "active"
		if t.Revoked() {
			status = "revoked " + localTime(t.RevokedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.UserID, t.Name, t.Hint,
			localTime(t.CreatedAt), localTime(t.LastUsed), status)
	}
	return tw.Flush()
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}
