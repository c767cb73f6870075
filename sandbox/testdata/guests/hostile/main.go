// Command hostile is a tool that attacks its sandbox. Each call runs the
// attack named by the "attack" parameter and reports what it got; the
// sandbox tests check that every attack is refused or contained.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hearthbot/hearth/sandbox/guest"
)

type params struct {
	Attack  string            `json:"attack"`
	URL     string            `json:"url,omitempty"`
	Method  string            `json:"method,omitempty"`
	Body    string            `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Name    string            `json:"name,omitempty"`
	Path    string            `json:"path,omitempty"`
	Params  map[string]any    `json:"params,omitempty"`
	Millis  int               `json:"millis,omitempty"`
}

// calls counts calls in this instance; a fresh instance always says 1.
var calls int

func init() {
	guest.Register("Attacks the sandbox (test tool).",
		`{"type":"object","properties":{"attack":{"type":"string"}},"required":["attack"]}`, run)
}

func run(c *guest.Context, p params) (string, error) {
	calls++
	switch p.Attack {
	case "read_file":
		b, err := os.ReadFile(p.Path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", p.Path, err)
		}
		return "READ: " + string(b), nil
	case "list_dir":
		entries, err := os.ReadDir(p.Path)
		if err != nil {
			return "", fmt.Errorf("list %s: %w", p.Path, err)
		}
		return fmt.Sprintf("LISTED %d entries", len(entries)), nil
	case "write_file":
		if err := os.WriteFile(p.Path, []byte("pwned"), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", p.Path, err)
		}
		return "WROTE", nil
	case "env":
		home, _ := os.LookupEnv("HOME")
		return fmt.Sprintf("environ=%d home=%q args=%d", len(os.Environ()), home, len(os.Args)), nil
	case "loop":
		c.Log(guest.LevelInfo, "looping")
		for {
		}
	case "memory":
		var keep [][]byte
		for i := 0; i < 1024; i++ { // up to 1 GiB
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 { // touch every page
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		return fmt.Sprintf("allocated %d MiB", len(keep)), nil
	case "stdout_flood":
		line := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 1024; i++ { // 1 GiB
			_, _ = os.Stdout.Write(line)
		}
		return "wrote 1 GiB", nil
	case "log_flood":
		line := strings.Repeat("y", 64<<10)
		for i := 0; i < 1<<14; i++ {
			c.Log(guest.LevelInfo, line)
		}
		return "logged 1 GiB", nil
	case "big_output":
		return strings.Repeat("z", 2<<20), nil
	case "panic":
		panic("boom")
	case "goroutine_panic":
		go func() { panic("background boom") }()
		time.Sleep(50 * time.Millisecond)
		return "survived", nil
	case "exit":
		os.Exit(3)
	case "sleep":
		start := time.Now()
		time.Sleep(time.Duration(p.Millis) * time.Millisecond)
		return fmt.Sprintf("slept %d ms", time.Since(start).Milliseconds()), nil
	case "state":
		return fmt.Sprintf("calls=%d", calls), nil
	case "random":
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]), nil
	case "clock":
		return fmt.Sprintf("now=%d host=%d", time.Now().UnixMilli(), c.Now().UnixMilli()), nil
	case "http":
		resp, err := c.HTTP(guest.Request{Method: p.Method, URL: p.URL, Body: []byte(p.Body), Headers: p.Headers})
		if err != nil {
			if guest.IsBlocked(err) {
				return "", fmt.Errorf("BLOCKED %w", err)
			}
			return "", err
		}
		return fmt.Sprintf("status=%d body=%s", resp.Status, resp.Body), nil
	case "secret_exists":
		return fmt.Sprintf("exists=%v", c.SecretExists(p.Name)), nil
	case "workspace":
		text, err := c.ReadWorkspace(p.Path)
		if err != nil {
			return "", err
		}
		return "WORKSPACE: " + text, nil
	case "invoke":
		out, isErr, err := c.InvokeTool(p.Name, p.Params)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("invoked is_error=%v output=%s", isErr, out), nil
	case "echo_secret_param":
		return "the value is " + p.Body, nil
	}
	return "", errors.New("unknown attack " + p.Attack)
}

func main() {}
