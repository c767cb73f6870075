package sandboxtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthbot/hearth/sandbox/internal/wasmbuild"
)

// BuildWasm builds Go packages (directories relative to the module root,
// such as "tools-src/github") into wasm modules and returns their paths
// by directory base name. Builds are cached across runs by a hash of
// their sources and run two at a time. A failed build fails the test,
// with the compiler's output; it never skips.
func BuildWasm(t testing.TB, pkgDirs ...string) map[string]string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := wasmbuild.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	cache := wasmbuild.CacheDir()
	out := map[string]string{}
	var jobs []wasmbuild.Job
	for _, dir := range pkgDirs {
		name := filepath.Base(dir)
		path := filepath.Join(cache, name+".wasm")
		out[name] = path
		jobs = append(jobs, wasmbuild.Job{PkgDir: filepath.Join(root, dir), Out: path})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := wasmbuild.BuildAll(ctx, root, jobs, true); err != nil {
		t.Fatalf("building wasm modules failed (the test command builds them; `make wasm` builds the tools): %v", err)
	}
	return out
}

// InstallTool copies a built module into dir as NAME.wasm with the given
// capabilities JSON beside it, and returns the module path.
func InstallTool(t testing.TB, dir, name, wasmPath, capsJSON string) string {
	t.Helper()
	data, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(filepath.Join(dir, name+".capabilities.json"), []byte(capsJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// CompileCacheDir is a compilation cache shared by test runs (private to
// the user, as the runtime requires).
func CompileCacheDir() string { return filepath.Join(wasmbuild.CacheDir(), "compiled") }
