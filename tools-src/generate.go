// Package toolssrc holds the sources of Hearth's WASM tools, one
// directory per tool (package main, built with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared), each with its NAME.capabilities.json. Build them
// all with `make wasm` or `go generate ./tools-src`.
package toolssrc

//go:generate go run ../sandbox/internal/wasmbuild/cmd/buildwasm -out ../build/tools .
