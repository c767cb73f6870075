// Command hearth runs the Hearth personal assistant and administers it.
//
//	hearth                 the console (same as hearth repl)
//	hearth serve           every enabled channel, for running as a service
//	hearth run -m TEXT     one turn; the reply on stdout
//	hearth pairing ...     list, approve or deny pairing requests
//	hearth config ...      show or validate the effective configuration
//	hearth doctor          check configuration, store, model and safety
//	hearth version         print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"golang.org/x/term" // timezones work without the system tz database
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitCode distinguishes usage errors (2) from failures (1).
type exitCode int

// usageError marks a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env is what a command gets from the process.
type env struct {
	args        []string
	stdin       io.Reader
	stdout      io.Writer
	stderr      io.Writer
	environ     []string
	interactive bool
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env) error
}

func commands() []command {
	return []command{
		{"repl", "talk to Hearth in this terminal (the default)", runREPL},
		{"serve", "run every enabled channel until stopped", runServe},
		{"run", "answer one message: hearth run -m TEXT", runOnce},
		{"pairing", "list, approve or deny pairing requests", runPairing},
		{"routines", "list, show, delete or run routines: hearth routines ls|show|rm|run", runRoutines},
		{"tokens", "create, list or revoke API tokens of the OpenAI-compatible API", runTokens},
		{"secrets", "set, list or remove users' secrets for tools: hearth secrets set|ls|rm", runSecrets},
		{"tools", "install, list or run WASM tools: hearth tools install|ls|run", runTools},
		{"memory", "inspect, search, import or export a memory workspace: hearth memory ls|cat|search|import|export|status", runMemory},
		{"audit", "show the audit log of tool calls and safety events, newest first", runAudit},
		{"config", "show or validate the configuration", runConfig},
		{"safety", "check text with the safety layer: hearth safety check < TEXT", runSafety},
		{"doctor", "check configuration, store, model and bind safety", runDoctor},
		{"migrate", "show or apply PostgreSQL migrations: hearth migrate status|up", runMigrate},
		{"version", "print the version", runVersion},
		{"help", "show this help", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, env{
		args: os.Args[1:], stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		environ: os.Environ(), interactive: isTerminal(os.Stdin),
	})
	stop()
	os.Exit(int(code))
}

// dispatch runs the subcommand named by the first argument.
func dispatch(ctx context.Context, e env) exitCode {
	name := "repl"
	args := e.args
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name || c.run == nil {
			continue
		}
		e.args = args
		err := c.run(ctx, e)
		if err == nil {
			return 0
		}
		fmt.Fprintf(e.stderr, "hearth %s: %v\n", name, err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(e.stderr, "hearth: unknown command %q\n\n", name)
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: hearth [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes --config FILE and --home DIR; configuration also comes")
	fmt.Fprintln(w, "from HEARTH_* environment variables (HEARTH_LLM__BASE_URL, HEARTH_LLM__MODEL, ...).")
	fmt.Fprintln(w, "Run 'hearth COMMAND --help' for a command's flags.")
}

func runVersion(_ context.Context, e env) error {
	_, err := fmt.Fprintln(e.stdout, "hearth", version)
	return err
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
