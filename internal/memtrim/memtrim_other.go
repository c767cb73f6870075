//go:build !linux

package memtrim

import "runtime/debug"

// Release returns the Go heap's free pages to the operating system. Only
// on Linux does it also drop the executable's start-up pages.
func Release() (Report, error) {
	debug.FreeOSMemory()
	return Report{}, nil
}
