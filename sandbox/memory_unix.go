//go:build linux || darwin || freebsd

package sandbox

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each instance's linear memory with an anonymous
// mapping of its maximum size. Pages cost nothing until touched, growth
// never copies, and unmapping on close returns the memory at once,
// without work for the garbage collector.
type mmapAllocator struct{}

// Allocate maps max bytes (falling back to the heap).
func (mmapAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	if max == 0 || max > 4<<30 {
		return &heapMemory{buf: make([]byte, 0, capacity)}
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return &heapMemory{buf: make([]byte, 0, capacity)}
	}
	return &mmapMemory{buf: buf}
}

type mmapMemory struct{ buf []byte }

// Reallocate reslices the mapping; nil past its end.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

// Free unmaps the memory.
func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}

// memoryAllocator is the allocator used for instances.
func memoryAllocator() experimental.MemoryAllocator { return mmapAllocator{} }
