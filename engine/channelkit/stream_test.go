package channelkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

type opsLog struct {
	ops    []string
	nextID int
	fail   error
}

func (l *opsLog) editOps() channelkit.EditOps {
	return channelkit.EditOps{
		Post: func(_ context.Context, chunk string) (string, error) {
			if l.fail != nil {
				return "", l.fail
			}
			l.nextID++
			id := fmt.Sprint(l.nextID)
			l.ops = append(l.ops, "post "+id+" "+chunk)
			return id, nil
		},
		Edit: func(_ context.Context, id, chunk string) error {
			if l.fail != nil {
				return l.fail
			}
			l.ops = append(l.ops, "edit "+id+" "+chunk)
			return nil
		},
	}
}

func TestStreamsThrottleDiffAndOverflow(t *testing.T) {
	clock := kittest.NewClock(t0)
	s := channelkit.NewStreams(clock, time.Second)
	l := &opsLog{nextID: 1}
	ctx := context.Background()
	s.Begin("k", []string{"1"}, []string{"He"})
	step := func(chunks []string, final bool) {
		t.Helper()
		if err := s.Update(ctx, "k", "1", chunks, final, l.editOps()); err != nil {
			t.Fatal(err)
		}
	}
	step([]string{"Hello"}, false) // within the interval: skipped
	clock.Advance(time.Second)
	step([]string{"Hello wo"}, false)
	clock.Advance(500 * time.Millisecond)
	step([]string{"Hello world"}, false) // skipped again
	step([]string{"Hello world!", "second part"}, true)
	want := "edit 1 Hello wo|edit 1 Hello world!|post 2 second part"
	if got := strings.Join(l.ops, "|"); got != want {
		t.Fatalf("ops = %s\nwant %s", got, want)
	}
	if s.Len() != 0 {
		t.Fatal("final update did not close the stream")
	}
	// An unknown key is edited from its first message at once.
	l.ops = nil
	if err := s.Update(ctx, "other", "9", []string{"x"}, false, l.editOps()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.ops, "|"); got != "edit 9 x" {
		t.Fatalf("ops = %s", got)
	}
	l.fail = errors.New("platform down")
	clock.Advance(time.Second)
	if err := s.Update(ctx, "other", "9", []string{"y"}, true, l.editOps()); !errors.Is(err, l.fail) {
		t.Fatalf("err = %v", err)
	}
}
