package secrets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// MasterKey is the 256-bit key all secret keys derive from. Its String
// and GoString never show the key, so it cannot end up in a log line.
type MasterKey struct {
	b     [32]byte
	valid bool
}

// String hides the key.
func (MasterKey) String() string { return "[master key]" }

// GoString hides the key from %#v.
func (MasterKey) GoString() string { return "[master key]" }

// ParseMasterKey accepts 64 hex digits or the standard base64 of 32
// bytes.
func ParseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		raw = b
	} else if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		raw = b
	} else {
		return MasterKey{}, errors.New("a master key must be 64 hex digits or the base64 of 32 bytes (generate one with: openssl rand -hex 32)")
	}
	var k MasterKey
	copy(k.b[:], raw)
	k.valid = true
	return k, nil
}

func newMasterKey() (MasterKey, error) {
	var k MasterKey
	if _, err := rand.Read(k.b[:]); err != nil {
		return MasterKey{}, err
	}
	k.valid = true
	return k, nil
}

func (k MasterKey) hex() string { return hex.EncodeToString(k.b[:]) }

// KeySource says where the master key came from.
type KeySource string

// Key sources, in the order they are tried.
const (
	SourceEnv      KeySource = "env"
	SourceKeychain KeySource = "keychain"
	SourceFile     KeySource = "file"
)

// EnvMasterKey is the environment variable holding the master key.
const EnvMasterKey = "HEARTH_MASTER_KEY"

// KeyFileName is the key file under HEARTH_HOME.
const KeyFileName = "master.key"

// Keyring service and account of the key in the OS keychain.
const (
	keyringService = "hearth"
	keyringUser    = "master-key"
)

// Keyring is the OS keychain (go-keyring in production).
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
}

// ErrKeyringNotFound is what a Keyring returns for a missing entry.
var ErrKeyringNotFound = keyring.ErrNotFound

// KeyInfo says where the key came from, for `hearth doctor`.
type KeyInfo struct {
	Source KeySource
	// Path is the key file, for SourceFile.
	Path string
	// Warning is set when the key's storage is weaker than it should be.
	Warning string
	// Created reports that a new key was generated now.
	Created bool
}

// KeyOptions configure LoadMasterKey.
type KeyOptions struct {
	// Home is HEARTH_HOME, where the key file lives.
	Home string
	// LookupEnv reads the environment (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Keyring is the OS keychain; nil uses SystemKeyring. Use
	// NoKeyring to skip it.
	Keyring Keyring
	Logger  *slog.Logger
}

// NoKeyring is a Keyring that is never available.
type NoKeyring struct{}

// Get implements Keyring.
func (NoKeyring) Get(string, string) (string, error) { return "", errKeyringUnavailable }

// Set implements Keyring.
func (NoKeyring) Set(string, string, string) error { return errKeyringUnavailable }

var errKeyringUnavailable = errors.New("no OS keychain")

// LoadMasterKey finds the master key:
//
//  1. HEARTH_MASTER_KEY, when set (a bad value is an error, never a
//     silent fallback);
//  2. the OS keychain entry, when there is one;
//  3. an existing key file HEARTH_HOME/master.key (mode 0600; a file
//     others may read is refused);
//  4. a new key stored in the OS keychain, when one is usable;
//  5. a new key file (with a warning for `hearth doctor`: the key lies
//     next to the data it protects).
func LoadMasterKey(_ context.Context, opts KeyOptions) (MasterKey, KeyInfo, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Keyring == nil {
		opts.Keyring = SystemKeyring(opts.LookupEnv)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if v, ok := opts.LookupEnv(EnvMasterKey); ok {
		k, err := ParseMasterKey(v)
		if err != nil {
			return MasterKey{}, KeyInfo{}, fmt.Errorf("secrets: %s: %w", EnvMasterKey, err)
		}
		return k, KeyInfo{Source: SourceEnv}, nil
	}

	stored, kerr := opts.Keyring.Get(keyringService, keyringUser)
	if kerr == nil {
		k, err := ParseMasterKey(stored)
		if err != nil {
			return MasterKey{}, KeyInfo{}, fmt.Errorf("secrets: the OS keychain entry %s/%s: %w", keyringService, keyringUser, err)
		}
		return k, KeyInfo{Source: SourceKeychain}, nil
	}
	keychainUsable := errors.Is(kerr, ErrKeyringNotFound)
	if !keychainUsable {
		log.Debug("OS keychain unavailable", "err", kerr)
	}

	if opts.Home == "" {
		return MasterKey{}, KeyInfo{}, errors.New("secrets: no master key: set HEARTH_MASTER_KEY, or HEARTH_HOME for a key file")
	}
	path := filepath.Join(opts.Home, KeyFileName)
	fileWarning := fmt.Sprintf("the master key is stored in %s, beside the data it protects; set %s or use an OS keychain", path, EnvMasterKey)
	if k, err := readKeyFile(path); err == nil {
		return k, KeyInfo{Source: SourceFile, Path: path, Warning: fileWarning}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return MasterKey{}, KeyInfo{}, err
	}

	k, err := newMasterKey()
	if err != nil {
		return MasterKey{}, KeyInfo{}, fmt.Errorf("secrets: generate master key: %w", err)
	}
	if keychainUsable {
		err := opts.Keyring.Set(keyringService, keyringUser, k.hex())
		if err == nil {
			log.Info("generated a master key and stored it in the OS keychain")
			return k, KeyInfo{Source: SourceKeychain, Created: true}, nil
		}
		log.Warn("could not store the master key in the OS keychain; using a key file", "err", err)
	}
	if err := writeKeyFile(path, k); err != nil {
		return MasterKey{}, KeyInfo{}, err
	}
	log.Warn("generated a master key file", "path", path)
	return k, KeyInfo{Source: SourceFile, Path: path, Warning: fileWarning, Created: true}, nil
}

func readKeyFile(path string) (MasterKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return MasterKey{}, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return MasterKey{}, fmt.Errorf("secrets: %s is readable by others (mode %v); run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("secrets: %w", err)
	}
	k, err := ParseMasterKey(string(data))
	if err != nil {
		return MasterKey{}, fmt.Errorf("secrets: %s: %w", path, err)
	}
	return k, nil
}

// writeKeyFile creates the key file with mode 0600, never overwriting.
func writeKeyFile(path string, k MasterKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("secrets: create %s: %w", path, err)
	}
	if _, err := f.WriteString(k.hex() + "\n"); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("secrets: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("secrets: sync %s: %w", path, err)
	}
	return f.Close()
}

// keyringTimeout bounds a keychain call (a D-Bus service that never
// answers must not hang start-up).
const keyringTimeout = 3 * time.Second

// systemKeyring is go-keyring, skipped where it cannot work.
type systemKeyring struct {
	lookupEnv func(string) (string, bool)
}

// SystemKeyring returns the OS keychain. On Linux without a D-Bus session
// (headless servers, containers) it reports itself unavailable at once
// instead of trying to start one.
func SystemKeyring(lookupEnv func(string) (string, bool)) Keyring {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return systemKeyring{lookupEnv: lookupEnv}
}

func (s systemKeyring) available() error {
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" {
		if v, ok := s.lookupEnv("DBUS_SESSION_BUS_ADDRESS"); !ok || v == "" {
			return fmt.Errorf("%w: no D-Bus session (headless)", errKeyringUnavailable)
		}
	}
	return nil
}

// Get reads an entry from the OS keychain, bounded in time.
func (s systemKeyring) Get(service, user string) (string, error) {
	if err := s.available(); err != nil {
		return "", err
	}
	type res struct {
		v   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := keyring.Get(service, user)
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(keyringTimeout):
		return "", fmt.Errorf("%w: the keychain did not answer within %s", errKeyringUnavailable, keyringTimeout)
	}
}

// Set writes an entry to the OS keychain, bounded in time.
func (s systemKeyring) Set(service, user, password string) error {
	if err := s.available(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() { ch <- keyring.Set(service, user, password) }()
	select {
	case err := <-ch:
		return err
	case <-time.After(keyringTimeout):
		return fmt.Errorf("%w: the keychain did not answer within %s", errKeyringUnavailable, keyringTimeout)
	}
}
