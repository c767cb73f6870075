package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// The tests here re-run the test binary as a second process (the helper
// below) to share the database file with it or to kill it with SIGKILL.
const (
	helperEnv = "HEARTH_SQLITE_TEST_HELPER" // "ack-forever" or "write"
	pathEnv   = "HEARTH_SQLITE_TEST_PATH"
	countEnv  = "HEARTH_SQLITE_TEST_COUNT"
)

// TestHelperProcess is not a test: it is the second process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the multi-process tests")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, os.Getenv(pathEnv), sqlite.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	n, _ := strconv.Atoi(os.Getenv(countEnv))
	fmt.Println("ready")
	for i := 0; mode == "ack-forever" || i < n; i++ {
		m, _, err := s.SaveInbound(ctx, seeded(fmt.Sprintf("child-%d", i)))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		// The acknowledgement an adapter would send the platform.
		fmt.Printf("ack %d child-%d\n", m.ID, i)
	}
	if err := s.Close(); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("done")
	os.Exit(0)
}

func seeded(msgID string) engine.StoredInbound {
	return engine.StoredInbound{
		Inbound: engine.Inbound{Channel: "repl", MessageID: msgID, Conversation: "c", Text: "hello " + msgID},
		UserID:  "u", SessionID: "s",
	}
}

// seedFile creates a store file with user u and session s.
func seedFile(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, engine.Session{ID: "s", UserID: "u", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// helper starts the helper process and returns its output lines.
func helper(t *testing.T, mode, path string, n int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path, countEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("helper did not start: %q %v", lines.Text(), lines.Err())
	}
	return cmd, lines
}

// TestSIGKILLKeepsAcknowledgedMessages kills a process that is accepting
// messages as fast as it can: every message it acknowledged is in the file
// afterwards, and the file is intact.
func TestSIGKILLKeepsAcknowledgedMessages(t *testing.T) {
	path := seedFile(t)
	cmd, lines := helper(t, "ack-forever", path, 0)
	acked := map[int64]string{}
	for len(acked) < 200 && lines.Scan() {
		var id int64
		var msgID string
		if _, err := fmt.Sscanf(lines.Text(), "ack %d %s", &id, &msgID); err != nil {
			t.Fatalf("helper said %q", lines.Text())
		}
		acked[id] = msgID
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL mid-stream
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 200 {
		t.Fatalf("helper acknowledged only %d messages: %v", len(acked), lines.Err())
	}

	s, err := open(t.Context(), t, path)
	if err != nil {
		t.Fatal(err)
	}
	for id, msgID := range acked {
		m, err := s.GetInbound(t.Context(), id)
		if err != nil || m.Inbound.MessageID != msgID || m.Status != engine.InboxPending {
			t.Fatalf("acknowledged message %d (%s) after SIGKILL: %+v, %v", id, msgID, m, err)
		}
	}
	pending, err := s.PendingInbound(t.Context())
	if err != nil || len(pending) < len(acked) {
		t.Fatalf("PendingInbound after SIGKILL: %d messages, %v; want at least %d", len(pending), err, len(acked))
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

// TestTwoProcessesShareTheFile writes from this process and a second one at
// the same time (a CLI command next to a running server): neither sees a
// busy error and nothing is lost.
func TestTwoProcessesShareTheFile(t *testing.T) {
	const n = 300
	path := seedFile(t)
	s, err := open(t.Context(), t, path)
	if err != nil {
		t.Fatal(err)
	}
	cmd, lines := helper(t, "write", path, n)
	childDone := make(chan error, 1)
	go func() {
		acks := 0
		for lines.Scan() {
			switch l := lines.Text(); {
			case strings.HasPrefix(l, "ack "):
				acks++
			case l == "done":
				if acks != n {
					childDone <- fmt.Errorf("child acknowledged %d messages, want %d", acks, n)
					return
				}
				childDone <- nil
				return
			default:
				childDone <- fmt.Errorf("child: %s", l)
				return
			}
		}
		childDone <- fmt.Errorf("child output ended: %v", lines.Err())
	}()
	for i := range n {
		if _, _, err := s.SaveInbound(t.Context(), seeded(fmt.Sprintf("parent-%d", i))); err != nil {
			t.Fatalf("parent write %d: %v", i, err)
		}
		if i%50 == 0 {
			if _, err := s.PendingInbound(t.Context()); err != nil {
				t.Fatalf("parent read: %v", err)
			}
		}
	}
	if err := <-childDone; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child exited: %v", err)
	}
	pending, err := s.PendingInbound(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2*n {
		t.Errorf("%d messages stored, want %d", len(pending), 2*n)
	}
}
