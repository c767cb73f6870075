package storetest

import (
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func checkUser(t *testing.T, got, want engine.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Role != want.Role || got.Timezone != want.Timezone {
		t.Errorf("user = %+v, want %+v", got, want)
	}
	checkTime(t, "user "+want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testUsers(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	u1 := mustUser(t, s, "u1", engine.RoleOwner, at(0))
	u2 := mustUser(t, s, "u2", engine.RoleMember, at(time.Hour))

	got, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	checkUser(t, got, u1)

	_, err = s.GetUser(ctx, "nobody")
	wantErr(t, "GetUser unknown", err, engine.ErrNotFound)

	dup := engine.User{ID: "u1", Name: "impostor", Role: engine.RoleMember}
	wantErr(t, "CreateUser duplicate", s.CreateUser(ctx, dup), engine.ErrConflict)
	got, err = s.GetUser(ctx, "u1")
	must(t, "GetUser after duplicate", err)
	checkUser(t, got, u1)

	u2.Name, u2.Role, u2.Timezone = "Renamed", engine.RoleOwner, "Asia/Tokyo"
	changed := u2
	changed.CreatedAt = at(99 * time.Hour) // not saved by UpdateUser
	must(t, "UpdateUser", s.UpdateUser(ctx, changed))
	got, err = s.GetUser(ctx, "u2")
	must(t, "GetUser after update", err)
	checkUser(t, got, u2)

	wantErr(t, "UpdateUser unknown", s.UpdateUser(ctx, engine.User{ID: "nobody", Name: "x", Role: engine.RoleMember}),
		engine.ErrNotFound)

	// A zero CreatedAt is filled by the store.
	must(t, "CreateUser without time", s.CreateUser(ctx, engine.User{ID: "u3", Name: "Three", Role: engine.RoleMember}))
	got, err = s.GetUser(ctx, "u3")
	must(t, "GetUser u3", err)
	checkSet(t, "u3 CreatedAt", got.CreatedAt)

	list, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(list) != 3 || list[0].ID != "u1" || list[1].ID != "u2" {
		t.Fatalf("ListUsers = %+v, want u1, u2 (oldest first) and u3", list)
	}
	checkUser(t, list[0], u1)
	checkUser(t, list[1], u2)
}

func testUserValidation(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	bad := []struct {
		name string
		u    engine.User
	}{
		{"empty id", engine.User{Name: "x", Role: engine.RoleMember}},
		{"empty role", engine.User{ID: "a", Name: "x"}},
		{"unknown role", engine.User{ID: "b", Name: "x", Role: "admin"}},
	}
	for _, tc := range bad {
		if err := s.CreateUser(ctx, tc.u); err == nil {
			t.Errorf("CreateUser with %s: no error", tc.name)
		}
	}
	list, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(list) != 0 {
		t.Errorf("invalid users were stored: %+v", list)
	}
	mustUser(t, s, "u1", engine.RoleMember, at(0))
	if err := s.UpdateUser(ctx, engine.User{ID: "u1", Name: "x", Role: "root"}); err == nil {
		t.Error("UpdateUser with an unknown role: no error")
	}
	got, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	if got.Role != engine.RoleMember {
		t.Errorf("role after rejected update = %q, want %q", got.Role, engine.RoleMember)
	}
}

func testIdentities(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	tg := engine.Identity{Channel: "telegram", PlatformID: "42", UserID: "u1", DisplayName: "Ann", CreatedAt: at(time.Minute)}
	sl := engine.Identity{Channel: "slack", PlatformID: "U42", UserID: "u1", DisplayName: "ann", CreatedAt: at(2 * time.Minute)}
	must(t, "LinkIdentity telegram", s.LinkIdentity(ctx, tg))
	must(t, "LinkIdentity slack", s.LinkIdentity(ctx, sl))

	check := func(got, want engine.Identity) {
		t.Helper()
		if got.Channel != want.Channel || got.PlatformID != want.PlatformID || got.UserID != want.UserID ||
			got.DisplayName != want.DisplayName {
			t.Errorf("identity = %+v, want %+v", got, want)
		}
		checkTime(t, "identity CreatedAt", got.CreatedAt, want.CreatedAt)
	}
	got, err := s.IdentityFor(ctx, "telegram", "42")
	must(t, "IdentityFor", err)
	check(got, tg)

	// The same platform id on another channel is someone else.
	_, err = s.IdentityFor(ctx, "slack", "42")
	wantErr(t, "IdentityFor other channel", err, engine.ErrNotFound)
	_, err = s.IdentityFor(ctx, "telegram", "43")
	wantErr(t, "IdentityFor unknown", err, engine.ErrNotFound)

	// Taken by u1: u2 cannot have it, and it stays u1's.
	stolen := tg
	stolen.UserID = "u2"
	wantErr(t, "LinkIdentity to another user", s.LinkIdentity(ctx, stolen), engine.ErrConflict)
	got, err = s.IdentityFor(ctx, "telegram", "42")
	must(t, "IdentityFor after conflict", err)
	check(got, tg)

	// Linking again to the same user is fine and updates the name.
	again := tg
	again.DisplayName = "Ann B."
	again.CreatedAt = at(time.Hour)
	must(t, "LinkIdentity again", s.LinkIdentity(ctx, again))
	got, err = s.IdentityFor(ctx, "telegram", "42")
	must(t, "IdentityFor after relink", err)
	if got.DisplayName != "Ann B." || got.UserID != "u1" {
		t.Errorf("after relink identity = %+v, want display name %q for u1", got, "Ann B.")
	}

	wantErr(t, "LinkIdentity unknown user",
		s.LinkIdentity(ctx, engine.Identity{Channel: "telegram", PlatformID: "7", UserID: "ghost"}), engine.ErrNotFound)
	_, err = s.IdentityFor(ctx, "telegram", "7")
	wantErr(t, "IdentityFor after failed link", err, engine.ErrNotFound)
	if err := s.LinkIdentity(ctx, engine.Identity{Channel: "", PlatformID: "7", UserID: "u1"}); err == nil {
		t.Error("LinkIdentity without channel: no error")
	}

	list, err := s.ListIdentities(ctx, "u1")
	must(t, "ListIdentities u1", err)
	if len(list) != 2 || list[0].Channel != "telegram" || list[1].Channel != "slack" {
		t.Fatalf("ListIdentities(u1) = %+v, want telegram then slack", list)
	}
	check(list[1], sl)
	list, err = s.ListIdentities(ctx, "u2")
	must(t, "ListIdentities u2", err)
	if len(list) != 0 {
		t.Errorf("ListIdentities(u2) = %+v, want none", list)
	}
}
