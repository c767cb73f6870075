// Package wasmbuild builds Go packages into sandbox tool modules
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared). The Makefile's wasm
// target, go generate in tools-src and the tests all use it, so a module
// is always built the same way. Builds run at most two at a time, and
// BuildCached skips packages whose sources have not changed.
package wasmbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Parallel is how many builds run at once.
const Parallel = 2

// ModuleRoot finds the directory holding go.mod, starting at dir.
func ModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("wasmbuild: no go.mod above %s", abs)
		}
	}
}

// goTool returns the go command.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Build compiles the package in pkgDir (a directory inside the module at
// root) to out.
func Build(ctx context.Context, root, pkgDir, out string) error {
	rel, err := filepath.Rel(root, pkgDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_ = f.Close()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-buildmode=c-shared", "-trimpath", "-o", tmp, "./"+filepath.ToSlash(rel))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("wasmbuild: go build %s: %w\n%s", rel, err, outBuf.String())
	}
	return os.Rename(tmp, out)
}

// Job is one package to build.
type Job struct {
	PkgDir string // package directory
	Out    string // output .wasm path
}

// BuildAll runs the jobs, Parallel at a time, and returns every failure.
func BuildAll(ctx context.Context, root string, jobs []Job, cached bool) error {
	sem := make(chan struct{}, Parallel)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			if cached {
				err = buildCached(ctx, root, j)
			} else {
				err = Build(ctx, root, j.PkgDir, j.Out)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// buildCached builds unless j.Out exists with a stamp matching the
// current sources.
func buildCached(ctx context.Context, root string, j Job) error {
	key, err := SourceKey(root, j.PkgDir)
	if err != nil {
		return err
	}
	stamp := j.Out + ".key"
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key {
		if _, err := os.Stat(j.Out); err == nil {
			return nil
		}
	}
	if err := Build(ctx, root, j.PkgDir, j.Out); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", stamp, os.Getpid())
	if err := os.WriteFile(tmp, []byte(key), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, stamp)
}

// SourceKey hashes what a build depends on: the Go version, go.mod and
// go.sum, the package's files and the guest SDK's.
func SourceKey(root, pkgDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, f := range []string{"go.mod", "go.sum"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err == nil {
			h.Write(b)
		}
	}
	for _, dir := range []string{pkgDir, filepath.Join(root, "sandbox", "guest")} {
		var files []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != dir {
				return fs.SkipDir
			}
			if strings.HasSuffix(p, ".go") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		slices.Sort(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CacheDir is where tests keep built modules between runs.
func CacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "hearth", "wasm-test")
	}
	return filepath.Join(os.TempDir(), "hearth-wasm-test")
}
