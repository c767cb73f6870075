package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

func testKey(t *testing.T, b byte) MasterKey {
	t.Helper()
	k, err := ParseMasterKey(strings.Repeat(string("0123456789abcdef"[b%16]), 64))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newVault(t *testing.T) (*Vault, *sandboxtest.SecretStore, *time.Time) {
	t.Helper()
	store := sandboxtest.NewSecretStore()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	v, err := NewVault(store, testKey(t, 1), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return v, store, &now
}

const value = "ghp_VerySecretValue123456"

func TestRoundTripAndMetadata(t *testing.T) {
	ctx := context.Background()
	v, store, now := newVault(t)
	if err := v.Set(ctx, "u1", "github_token", []byte(value)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := v.Exists(ctx, "u1", "github_token"); !ok {
		t.Fatal("Exists = false")
	}
	if ok, _ := v.Exists(ctx, "u2", "github_token"); ok {
		t.Fatal("another user sees the secret")
	}
	*now = now.Add(time.Hour)
	got, err := v.Use(ctx, "u1", "github_token")
	if err != nil || got != value {
		t.Fatalf("Use = %q, %v", got, err)
	}
	list, err := v.List(ctx, "u1")
	if err != nil || len(list) != 1 || list[0].Name != "github_token" || !list[0].LastUsed.Equal(*now) || list[0].CreatedAt.Equal(*now) {
		t.Fatalf("List = %+v, %v", list, err)
	}
	vals, err := v.Values(ctx, "u1")
	if err != nil || vals["github_token"] != value {
		t.Fatalf("Values = %v, %v", vals, err)
	}
	if _, err := v.Use(ctx, "u1", "missing"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Use(missing) = %v, want ErrNotFound", err)
	}
	// Replacing keeps the creation time.
	created := list[0].CreatedAt
	if err := v.Set(ctx, "u1", "github_token", []byte(value+"2")); err != nil {
		t.Fatal(err)
	}
	list, _ = v.List(ctx, "u1")
	if !list[0].CreatedAt.Equal(created) || !list[0].UpdatedAt.Equal(*now) {
		t.Fatalf("replace metadata %+v", list[0])
	}
	if err := v.Delete(ctx, "u1", "github_token"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := v.Exists(ctx, "u1", "github_token"); ok || len(store.Raw()) != 0 {
		t.Fatal("Delete left the secret")
	}
}

func TestCiphertextHidesTheValue(t *testing.T) {
	ctx := context.Background()
	v, store, _ := newVault(t)
	_ = v.Set(ctx, "u1", "a", []byte(value))
	_ = v.Set(ctx, "u1", "b", []byte(value))
	raw := store.Raw()
	if len(raw) != 2 || bytes.Equal(raw[0], raw[1]) {
		t.Fatal("the same value encrypted twice gave the same ciphertext")
	}
	for _, ct := range raw {
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), "VerySecret"} {
			if bytes.Contains(ct, []byte(form)) {
				t.Fatalf("ciphertext contains %q", form)
			}
		}
	}
}

func TestTamperingAndMovingFail(t *testing.T) {
	ctx := context.Background()
	v, store, _ := newVault(t)
	_ = v.Set(ctx, "u1", "tok", []byte(value))
	s, _ := store.GetSecret(ctx, "u1", "tok")

	moved := s
	moved.UserID = "u2"
	_ = store.PutSecret(ctx, moved)
	if _, err := v.Use(ctx, "u2", "tok"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("ciphertext moved to another user: %v, want ErrDecrypt", err)
	}
	renamed := s
	renamed.Name = "other"
	_ = store.PutSecret(ctx, renamed)
	if _, err := v.Use(ctx, "u1", "other"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("ciphertext under another name: %v, want ErrDecrypt", err)
	}
	flipped := s
	flipped.Ciphertext = append([]byte(nil), s.Ciphertext...)
	flipped.Ciphertext[len(flipped.Ciphertext)-1] ^= 1
	_ = store.PutSecret(ctx, flipped)
	if _, err := v.Use(ctx, "u1", "tok"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("flipped bit: %v, want ErrDecrypt", err)
	}
	if _, err := v.Values(ctx, "u1"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Values with a broken secret must fail closed, got %v", err)
	}
	bad, err := v.Check(ctx, "u1")
	if err != nil || len(bad) != 2 {
		t.Fatalf("Check = %v, %v", bad, err)
	}
}

func TestWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	v, store, _ := newVault(t)
	_ = v.Set(ctx, "u1", "tok", []byte(value))
	other, _ := NewVault(store, testKey(t, 2), nil)
	if _, err := other.Use(ctx, "u1", "tok"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	v, store, _ := newVault(t)
	for _, tc := range []struct {
		user, name, value string
	}{
		{"", "tok", value},
		{"u1", "", value},
		{"u1", "1tok", value},
		{"u1", "to k", value},
		{"u1", "tok", "short"},
		{"u1", "tok", "line\nbreak-value"},
		{"u1", "tok", "nul\x00-in-value"},
		{"u1", "tok", "\xff\xfe-not-utf8"},
		{"u1", "tok", strings.Repeat("x", MaxValueLen+1)},
	} {
		err := v.Set(ctx, tc.user, tc.name, []byte(tc.value))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%q, %q, %.20q) = %v, want ErrInvalid", tc.user, tc.name, tc.value, err)
		}
	}
	if len(store.Raw()) != 0 {
		t.Fatal("an invalid secret was stored")
	}
}

func TestReadValue(t *testing.T) {
	got, err := ReadValue(strings.NewReader(value + "\r\n"))
	if err != nil || string(got) != value {
		t.Fatalf("ReadValue = %q, %v", got, err)
	}
	if _, err := ReadValue(strings.NewReader(strings.Repeat("x", MaxValueLen+10))); err == nil {
		t.Fatal("oversized value accepted")
	}
	if _, err := ReadValue(strings.NewReader("two\nlines-of-value")); err == nil {
		t.Fatal("multi-line value accepted")
	}
}

// fakeKeyring is an in-memory keychain that can be made unavailable.
type fakeKeyring struct {
	entries map[string]string
	down    bool
	sets    int
}

func (f *fakeKeyring) Get(s, u string) (string, error) {
	if f.down {
		return "", errors.New("dbus: no session")
	}
	v, ok := f.entries[s+"/"+u]
	if !ok {
		return "", ErrKeyringNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Set(s, u, p string) error {
	if f.down {
		return errors.New("dbus: no session")
	}
	f.sets++
	f.entries[s+"/"+u] = p
	return nil
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadMasterKey(t *testing.T) {
	ctx := context.Background()
	hexKey := strings.Repeat("ab", 32)

	t.Run("env wins", func(t *testing.T) {
		kr := &fakeKeyring{entries: map[string]string{"hearth/master-key": strings.Repeat("cd", 32)}}
		k, info, err := LoadMasterKey(ctx, KeyOptions{Home: t.TempDir(), LookupEnv: env(map[string]string{EnvMasterKey: hexKey}), Keyring: kr})
		if err != nil || info.Source != SourceEnv || k.hex() != hexKey {
			t.Fatalf("%v %+v", err, info)
		}
	})
	t.Run("bad env is an error, not a fallback", func(t *testing.T) {
		_, _, err := LoadMasterKey(ctx, KeyOptions{Home: t.TempDir(), LookupEnv: env(map[string]string{EnvMasterKey: "hunter2"}), Keyring: NoKeyring{}})
		if err == nil || !strings.Contains(err.Error(), EnvMasterKey) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("base64 env", func(t *testing.T) {
		b64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		_, info, err := LoadMasterKey(ctx, KeyOptions{LookupEnv: env(map[string]string{EnvMasterKey: b64}), Keyring: NoKeyring{}})
		if err != nil || info.Source != SourceEnv {
			t.Fatalf("%v %+v", err, info)
		}
	})
	t.Run("keychain entry", func(t *testing.T) {
		kr := &fakeKeyring{entries: map[string]string{"hearth/master-key": hexKey}}
		k, info, err := LoadMasterKey(ctx, KeyOptions{Home: t.TempDir(), LookupEnv: env(nil), Keyring: kr})
		if err != nil || info.Source != SourceKeychain || info.Created || k.hex() != hexKey {
			t.Fatalf("%v %+v", err, info)
		}
	})
	t.Run("new key goes to the keychain", func(t *testing.T) {
		home := t.TempDir()
		kr := &fakeKeyring{entries: map[string]string{}}
		k1, info, err := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: kr})
		if err != nil || info.Source != SourceKeychain || !info.Created || kr.sets != 1 {
			t.Fatalf("%v %+v", err, info)
		}
		if _, err := os.Stat(filepath.Join(home, KeyFileName)); !os.IsNotExist(err) {
			t.Fatal("a key file was written although the keychain works")
		}
		k2, info2, _ := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: kr})
		if k1.hex() != k2.hex() || info2.Created {
			t.Fatal("second load did not find the same key")
		}
	})
	t.Run("headless: key file 0600 with a warning, reused", func(t *testing.T) {
		home := filepath.Join(t.TempDir(), "hearth")
		kr := &fakeKeyring{down: true}
		k1, info, err := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: kr})
		if err != nil || info.Source != SourceFile || !info.Created || info.Warning == "" {
			t.Fatalf("%v %+v", err, info)
		}
		fi, err := os.Stat(info.Path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, %v", fi.Mode().Perm(), err)
		}
		k2, info2, err := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: kr})
		if err != nil || info2.Created || k1.hex() != k2.hex() || info2.Warning == "" {
			t.Fatalf("reuse: %v %+v", err, info2)
		}
		// An existing file is preferred to a keychain that comes back.
		kr.down = false
		kr.entries = map[string]string{}
		k3, info3, err := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: kr})
		if err != nil || info3.Source != SourceFile || k3.hex() != k1.hex() || kr.sets != 0 {
			t.Fatalf("file after keychain returns: %v %+v sets=%d", err, info3, kr.sets)
		}
	})
	t.Run("world-readable key file refused", func(t *testing.T) {
		home := t.TempDir()
		p := filepath.Join(home, KeyFileName)
		if err := os.WriteFile(p, []byte(hexKey), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadMasterKey(ctx, KeyOptions{Home: home, LookupEnv: env(nil), Keyring: NoKeyring{}})
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no home and no keychain", func(t *testing.T) {
		_, _, err := LoadMasterKey(ctx, KeyOptions{LookupEnv: env(nil), Keyring: NoKeyring{}})
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("system keyring is skipped without D-Bus", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the D-Bus check applies to Linux")
		}
		kr := SystemKeyring(env(nil))
		start := time.Now()
		_, err := kr.Get("hearth", "master-key")
		if err == nil || errors.Is(err, ErrKeyringNotFound) || time.Since(start) > time.Second {
			t.Fatalf("Get = %v after %s", err, time.Since(start))
		}
	})
	if s := testKey(t, 3).String(); strings.Contains(s, "3333") {
		t.Fatal("MasterKey.String shows the key")
	}
}
