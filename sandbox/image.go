package sandbox

import (
	"github.com/tetratelabs/wazero/experimental"
)

// snapshotImage allocates instance memories that already hold a
// snapshot's memory contents.
type snapshotImage interface {
	experimental.MemoryAllocator
	Close()
}

// copyImage copies the snapshot's non-zero chunks into each new memory.
type copyImage struct {
	snap *snapshot
	base experimental.MemoryAllocator // nil: the Go heap
}

// Allocate returns a memory holding a copy of the snapshot.
func (c *copyImage) Allocate(capacity, max uint64) experimental.LinearMemory {
	var lm experimental.LinearMemory = &heapMemory{buf: make([]byte, 0, capacity)}
	if c.base != nil {
		lm = c.base.Allocate(capacity, max)
	}
	size := uint64(c.snap.pages) * pageSize
	buf := lm.Reallocate(size)
	if buf == nil {
		return lm // the limit is below the snapshot: growing will fail and say so
	}
	for _, ch := range c.snap.chunks {
		copy(buf[ch.Offset:], ch.Data)
	}
	return lm
}

// Close has nothing to release.
func (c *copyImage) Close() {}
