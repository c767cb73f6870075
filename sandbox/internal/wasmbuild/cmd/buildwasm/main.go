// Command buildwasm builds every tool under the given source directories
// (each subdirectory with Go files and a NAME.capabilities.json) into
// OUT/NAME.wasm and copies the capabilities file beside it, after
// checking it. `make wasm` and `go generate ./tools-src` run it.
//
//	go run ./sandbox/internal/wasmbuild/cmd/buildwasm -out build/tools tools-src
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/internal/wasmbuild"
)

func main() {
	out := flag.String("out", "build/tools", "output directory")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: buildwasm -out DIR SOURCE_DIR...")
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "buildwasm:", err)
		os.Exit(1)
	}
}

func run(out string, sources []string) error {
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		return err
	}
	var jobs []wasmbuild.Job
	var names []string
	for _, src := range sources {
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(src, e.Name())
			name := e.Name()
			if err := caps.ValidateToolName(name); err != nil {
				return fmt.Errorf("%s: the directory name is the tool name: %w", dir, err)
			}
			capsFile := filepath.Join(dir, name+".capabilities.json")
			data, err := os.ReadFile(capsFile)
			if err != nil {
				return fmt.Errorf("%s: every tool needs %s beside its sources: %w", dir, filepath.Base(capsFile), err)
			}
			if _, err := caps.Parse(data); err != nil {
				return fmt.Errorf("%s: %w", capsFile, err)
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			jobs = append(jobs, wasmbuild.Job{PkgDir: abs, Out: filepath.Join(out, name+".wasm")})
			names = append(names, name)
		}
	}
	if len(jobs) == 0 {
		return fmt.Errorf("no tools found under %s", strings.Join(sources, ", "))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// Built modules are never committed.
	if err := os.WriteFile(filepath.Join(out, ".gitignore"), []byte("*\n"), 0o644); err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := wasmbuild.BuildAll(ctx, root, jobs, false); err != nil {
		return err
	}
	for i, j := range jobs {
		data, err := os.ReadFile(filepath.Join(j.PkgDir, names[i]+".capabilities.json"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, names[i]+".capabilities.json"), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("built %s into %s in %s\n", strings.Join(names, ", "), out, time.Since(start).Round(100*time.Millisecond))
	return nil
}
