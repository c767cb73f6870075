//go:build !(linux || darwin || freebsd)

package sandbox

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator is nil here: wazero's default allocator is used.
func memoryAllocator() experimental.MemoryAllocator { return nil }
