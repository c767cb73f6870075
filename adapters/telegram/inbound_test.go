package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

func TestPrivateMessageNormalized(t *testing.T) {
	ft := newFake(t)
	ch, _ := newChannel(t, ft, nil)
	s := newSink()
	run(t, ch, s)

	id := ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 10, Text: "hello _there_"}.Update())
	got := s.wait(t, 1)[0]
	want := engine.Inbound{
		Channel:      "telegram",
		MessageID:    "111:10",
		Conversation: "111",
		Sender:       engine.Sender{ID: "111", DisplayName: "Alice Liddell"},
		Direct:       true,
		Text:         "hello _there_",
		ReceivedAt:   time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	meta := got.Meta
	got.Meta = nil
	if !equalInbound(got, want) {
		t.Fatalf("inbound =\n%+v\nwant\n%+v", got, want)
	}
	if meta["chat_type"] != "private" || meta["username"] != "alice" || meta["update_id"] != strconv.FormatInt(id, 10) {
		t.Fatalf("meta = %v", meta)
	}
	if !ft.WaitOffset(id+1, limit) {
		t.Fatalf("offset not advanced past the accepted update (offset %d)", ft.Offset())
	}
	// Commands are registered at start, and a leftover webhook removed.
	cmds := ft.Calls("setMyCommands")
	if len(cmds) != 1 {
		t.Fatalf("setMyCommands calls = %d", len(cmds))
	}
	var registered []struct{ Command string }
	_ = json.Unmarshal([]byte(cmds[0].Params["commands"]), &registered)
	var names []string
	for _, c := range registered {
		names = append(names, c.Command)
	}
	if strings.Join(names, ",") != "new,stop,status,help" {
		t.Fatalf("commands = %v", names)
	}
	if len(ft.Calls("deleteWebhook")) != 1 {
		t.Fatal("deleteWebhook not called before polling")
	}
	if h := ch.Health(); h.State != channelkit.StateConnected || h.LastInbound.IsZero() {
		t.Fatalf("health = %+v", h)
	}
}

func equalInbound(a, b engine.Inbound) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestGroupMentionFlags(t *testing.T) {
	botUser := faketelegram.User{ID: 7000001, FirstName: "Hearth", Username: "hearth_test_bot", IsBot: true}
	group := int64(-100500)
	for _, tc := range []struct {
		name      string
		msg       faketelegram.Msg
		mentioned bool
		text      string
		thread    string
	}{
		{name: "no mention", msg: faketelegram.Msg{Text: "just chatting"}, text: "just chatting"},
		{name: "mention by username", msg: faketelegram.Msg{Text: "@hearth_test_bot what's up?"}, mentioned: true, text: "what's up?"},
		{name: "mention mid-text, other case", msg: faketelegram.Msg{Text: "hey @Hearth_Test_Bot look"}, mentioned: true, text: "hey @Hearth_Test_Bot look"},
		{name: "another bot mentioned", msg: faketelegram.Msg{Text: "@other_bot hi"}, text: "@other_bot hi"},
		{name: "command addressed to the bot", msg: faketelegram.Msg{Text: "/status@hearth_test_bot now"}, mentioned: true, text: "/status now"},
		{name: "reply to the bot", msg: faketelegram.Msg{Text: "and then?", ReplyToID: 9, ReplyToFrom: botUser}, mentioned: true, text: "and then?"},
		{name: "reply to someone else", msg: faketelegram.Msg{Text: "agreed", ReplyToID: 9, ReplyToFrom: bob}, text: "agreed"},
		{
			name: "forum topic: the topic root is not a reply",
			msg:  faketelegram.Msg{Text: "in a topic", ThreadID: 42, Topic: true, IsForum: true, ReplyToID: 42, ReplyToFrom: botUser},
			text: "in a topic", thread: "42",
		},
		{
			name: "forum topic with mention",
			msg:  faketelegram.Msg{Text: "@hearth_test_bot topic q", ThreadID: 42, Topic: true, IsForum: true, ReplyToID: 42, ReplyToFrom: bob},
			text: "topic q", thread: "42", mentioned: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFake(t)
			ch, _ := newChannel(t, ft, nil)
			s := newSink()
			run(t, ch, s)
			m := tc.msg
			m.ChatID, m.From, m.ID, m.ChatTitle = group, alice, 77, "Friends"
			ft.AddUpdate(m.Update())
			got := s.wait(t, 1)[0]
			if got.Direct || got.Mentioned != tc.mentioned || got.Text != tc.text || got.Thread != tc.thread {
				t.Fatalf("direct=%v mentioned=%v text=%q thread=%q; want mentioned=%v text=%q thread=%q",
					got.Direct, got.Mentioned, got.Text, got.Thread, tc.mentioned, tc.text, tc.thread)
			}
			if got.Conversation != "-100500" || got.MessageID != "-100500:77" || got.Meta["chat_title"] != "Friends" {
				t.Fatalf("inbound = %+v", got)
			}
		})
	}
}

func TestOffsetAdvancesOnlyAfterAccept(t *testing.T) {
	ft := newFake(t)
	ch, _ := newChannel(t, ft, nil)
	s := newSink()
	s.fail = 2 // the store is down for the first two attempts
	run(t, ch, s)
	id := ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 1, Text: "important"}.Update())
	got := s.wait(t, 3)
	for _, in := range got {
		if in.MessageID != "111:1" {
			t.Fatalf("unexpected message %q", in.MessageID)
		}
	}
	if !ft.WaitOffset(id+1, limit) {
		t.Fatal("offset never advanced after the successful Accept")
	}
	// Every poll before the success asked from the update itself, so
	// Telegram kept it.
	var before []string
	for _, c := range ft.Calls("getUpdates") {
		off, _ := strconv.ParseInt(c.Params["offset"], 10, 64)
		if off > id {
			break
		}
		before = append(before, c.Params["offset"])
	}
	if len(before) < 3 {
		t.Fatalf("polls before acceptance asked offsets %v; want the update fetched three times", before)
	}
	if r := s.receipts(); len(r) != 3 || r[2] != engine.Queued {
		t.Fatalf("receipts = %v", r)
	}
}

func TestRedeliveredUpdateAnsweredOnce(t *testing.T) {
	ft := newFake(t)
	s := newSink()
	var first *telegram.Channel
	s.reply = func(in engine.Inbound) {
		_, _ = first.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "answer", Final: true})
	}
	first, _ = newChannel(t, ft, nil)
	stopFirst := run(t, first, s)
	upd := faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 5, Text: "once"}.Update()
	upd["update_id"] = int64(900)
	ft.AddUpdate(upd)
	s.wait(t, 1)
	if _, ok := ft.WaitCalls("sendMessage", 1, limit); !ok {
		t.Fatal("no answer")
	}
	if !ft.WaitOffset(901, limit) {
		t.Fatal("offset not confirmed")
	}
	// After a restart (a fresh channel, memory lost) the same message comes
	// in again: the engine answers Duplicate and nothing is sent twice.
	if err := stopFirst(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	second, _ := newChannel(t, ft, nil)
	again := faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 5, Text: "once"}.Update()
	ft.AddRawUpdate(901000, mustJSON(map[string]any{"update_id": 901000, "message": again["message"]}))
	run(t, second, s)
	got := s.wait(t, 2)
	if got[1].MessageID != "111:5" || s.receipts()[1] != engine.Duplicate {
		t.Fatalf("redelivery = %v / %v", got[2].MessageID, s.receipts())
	}
	if !ft.WaitOffset(901001, limit) {
		t.Fatal("duplicate not confirmed")
	}
	if n := len(ft.Calls("sendMessage")); n != 1 {
		t.Fatalf("sendMessage calls = %d, want 1 (answered once)", n)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEditedAndMalformedUpdatesSkipped(t *testing.T) {
	ft := newFake(t)
	ch, logs := newChannel(t, ft, nil)
	s := newSink()
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 3, Text: "typo fixed", Edited: true}.Update())
	ft.AddRawUpdate(500, `{"update_id": 500, "message": "this is not a message object"}`)
	ft.AddRawUpdate(501, `{"update_id": 501, "message": {"message_id": 4, "chat": {"id": 111, "type": "private"}, "from": {"id": 99, "is_bot": true, "first_name": "Other bot"}, "text": "bot chatter"}}`)
	last := ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 4, Text: "real"}.Update())
	run(t, ch, s)
	got := s.wait(t, 1)
	if !ft.WaitOffset(last+1, limit) {
		t.Fatalf("offset = %d, want past all updates", ft.Offset())
	}
	if got = s.wait(t, 1); len(got) != 1 || got[0].Text != "real" {
		t.Fatalf("accepted %+v, want only the real message", got)
	}
	if !strings.Contains(logs.String(), "malformed update skipped") || !strings.Contains(logs.String(), "update_id=500") {
		t.Fatalf("malformed update not logged:\n%s", logs)
	}
}

func TestAttachments(t *testing.T) {
	ft := newFake(t)
	store := &memStore{}
	ch, _ := newChannel(t, ft, func(c *telegram.Config) { c.Attachments = store })
	s := newSink()
	run(t, ch, s)
	ft.AddFile("doc1", "documents/notes.md", []byte("# Notes\nbuy milk"))
	ft.AddFile("ph1", "photos/p.jpg", []byte("\xff\xd8\xff\xe0 jpeg bytes"))
	ft.AddFile("v1", "voice/v.ogg", []byte("OggS voice"))
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 1, Caption: "my notes",
		Document: &faketelegram.Doc{FileID: "doc1", Name: "notes.md", MIMEType: "text/markdown", Size: 16}}.Update())
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 2, PhotoID: "ph1"}.Update())
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 3, VoiceID: "v1", VoiceSecs: 4}.Update())
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 4, Caption: "lost",
		Document: &faketelegram.Doc{FileID: "missing", Name: "gone.txt", MIMEType: "text/plain", Size: 3}}.Update())
	got := s.wait(t, 4)

	doc := got[0]
	if doc.Text != "my notes" || len(doc.Attachments) != 1 {
		t.Fatalf("document message = %+v", doc)
	}
	if a := doc.Attachments[0]; a.Kind != "document" || a.Text != "# Notes\nbuy milk" || a.Path != "attachments/111/notes.md" || a.Size != 16 {
		t.Fatalf("document attachment = %+v", a)
	}
	if a := got[1].Attachments; len(a) != 1 || a[0].Kind != "photo" || a[0].Path == "" || a[0].Text != "" {
		t.Fatalf("photo attachment = %+v", a)
	}
	if a := got[2].Attachments; len(a) != 1 || a[0].Kind != "voice" || a[0].Name != "voice-4s.ogg" || a[0].Path == "" {
		t.Fatalf("voice attachment = %+v", a)
	}
	// A file that cannot be fetched is still described, and the message
	// is not lost.
	if a := got[3].Attachments; got[3].Text != "lost" || len(a) != 1 || a[0].Path != "" || a[0].Name != "gone.txt" {
		t.Fatalf("unfetchable attachment = %+v", got[3])
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if string(store.files["attachments/111/photo.jpg"]) != "\xff\xd8\xff\xe0 jpeg bytes" {
		t.Fatal("photo bytes not stored")
	}
}

func TestTokenErrors(t *testing.T) {
	if _, err := telegram.New(telegram.Config{}); err == nil || !strings.Contains(err.Error(), "channels.telegram.token") {
		t.Fatalf("missing token: %v", err)
	}
	ft := newFake(t)
	ch, err := telegram.New(telegram.Config{Token: "999:wrong", APIURL: ft.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Run(context.Background(), newSink())
	if err == nil || !strings.Contains(err.Error(), "channels.telegram.token: rejected by Telegram") || !channelkit.IsPermanent(err) {
		t.Fatalf("rejected token: %v", err)
	}
	if strings.Contains(err.Error(), "999:wrong") {
		t.Fatalf("error leaks the token: %v", err)
	}
	if h := ch.Health(); h.State != channelkit.StateFailed {
		t.Fatalf("health = %+v", h)
	}
	for _, tc := range []struct {
		cfg  telegram.Config
		want string
	}{
		{telegram.Config{Token: token, APIURL: "ftp://x"}, "channels.telegram.api_url"},
		{telegram.Config{Token: token, Mode: "carrier-pigeon"}, "channels.telegram.mode"},
		{telegram.Config{Token: token, PollTimeout: 40 * time.Second, StallAfter: 30 * time.Second}, "channels.telegram.stall_after"},
	} {
		if _, err := telegram.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	var _ = errors.New
}

func TestUnreadableUpdateDoesNotSpin(t *testing.T) {
	ft := newFake(t)
	ch, logs := newChannel(t, ft, func(c *telegram.Config) {
		c.Backoff = &channelkit.Backoff{Min: time.Hour} // a second poll would need an hour
	})
	ft.AddRawUpdate(1, `"not even an object"`)
	run(t, ch, newSink())
	eventually(t, "the unreadable batch to be reported", func() bool {
		return strings.Contains(logs.String(), "without a readable update_id")
	})
	if n := ft.Count("getUpdates"); n != 1 {
		t.Fatalf("getUpdates called %d times; the channel spins on an unreadable update\n%s", n, logs)
	}
}
