package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/memory/postgres"
)

func TestOpenRejectsBadURLsWithoutEchoingThem(t *testing.T) {
	cases := []struct {
		name, url, want string
	}{
		{"empty", "", "empty database URL"},
		{"scheme", "mysql://u:hunter2@h/db", "must start with postgres://"},
		{"syntax", "postgres://u:hunter2@h:notaport/db", "cannot be parsed"},
		{"parameter", "postgres://u:hunter2@h/db?sslmode=sometimes", "cannot be parsed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), tc.url, postgres.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error echoes the password: %v", err)
			}
		})
	}
}

func TestOpenWrongPasswordNamesTheDatabaseNotThePassword(t *testing.T) {
	u, err := url.Parse(baseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "wrong-hunter2")
	_, err = postgres.Open(t.Context(), u.String(), postgres.Options{})
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "wrong-hunter2") {
		t.Errorf("the error echoes the password: %v", err)
	}
	if !strings.Contains(err.Error(), u.Hostname()) {
		t.Errorf("the error does not say which server: %v", err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	u := schemaURL(t)
	s := openAt(t, u)
	if _, err := s.Pool().Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(t.Context(), u, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Fatalf("Open of a newer schema = %v, want a refusal", err)
	}
	states, err := postgres.Status(t.Context(), u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := states[len(states)-1]
	if last.Version != 99999 || last.Name != "" || !last.Applied {
		t.Errorf("Status lists the unknown version as %+v", last)
	}
}

func TestStatusAndMigrate(t *testing.T) {
	u := schemaURL(t)
	ctx := context.Background()
	before, err := postgres.Status(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 {
		t.Fatal("Status lists no migrations")
	}
	for i, st := range before {
		if st.Applied || !st.AppliedAt.IsZero() {
			t.Errorf("migration %d on an empty schema: %+v, want pending", i, st)
		}
		if i > 0 && st.Version <= before[i-1].Version {
			t.Errorf("versions out of order: %d after %d", st.Version, before[i-1].Version)
		}
		if !strings.HasSuffix(st.Name, ".sql") {
			t.Errorf("migration %d name %q, want its file name", st.Version, st.Name)
		}
	}
	applied, err := postgres.Migrate(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(before) {
		t.Errorf("Migrate applied %d migrations, want %d", len(applied), len(before))
	}
	after, err := postgres.Status(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range after {
		if !st.Applied || st.AppliedAt.IsZero() {
			t.Errorf("after Migrate: %+v, want applied with a time", st)
		}
	}
	again, err := postgres.Migrate(ctx, u, postgres.Options{})
	if err != nil || len(again) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing applied", again, err)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	u, err := url.Parse(baseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "no_such_schema_here")
	u.RawQuery = q.Encode()
	_, err = postgres.Open(t.Context(), u.String(), postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Open with a missing schema = %v, want an error about search_path", err)
	}
}
