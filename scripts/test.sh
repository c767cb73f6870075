#!/usr/bin/env bash
# Runs every Hearth test: builds the WASM modules the sandbox tests load,
# starts what the tests need, then vet and the race-enabled test suite.
# Idempotent; works on a clean Debian machine with Go.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go version: $(go version)"
if [ -f Makefile ] && grep -q '^wasm:' Makefile; then
  echo "== building WASM modules (make wasm)"
  make --no-print-directory wasm
fi
if [ -x scripts/pg-test.sh ]; then
  echo "== starting the test PostgreSQL server (scripts/pg-test.sh)"
  # shellcheck disable=SC1091
  eval "$(scripts/pg-test.sh env)"
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 12m ./... 2>&1 | tee /tmp/hearth-test.log
