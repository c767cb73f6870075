# Build helpers for Hearth. `make wasm` builds every tool in tools-src/
# into build/tools/NAME.wasm with its NAME.capabilities.json (checked)
# beside it; point the tools directory at build/tools or copy them there.

GO ?= go
TOOLS_OUT ?= build/tools

.PHONY: wasm clean-wasm

wasm:
	$(GO) run ./sandbox/internal/wasmbuild/cmd/buildwasm -out $(TOOLS_OUT) tools-src

clean-wasm:
	rm -rf $(TOOLS_OUT)
