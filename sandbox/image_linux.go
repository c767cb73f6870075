//go:build linux

package sandbox

import (
	"fmt"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// cowImage keeps a snapshot in a sealed memory file and maps it
// copy-on-write at the start of every new instance's memory: an instance
// costs one mapping, and only the pages the guest writes are copied.
type cowImage struct {
	fd       int
	size     uint64
	fallback *copyImage
}

// newImage returns the copy-on-write image, or the copying one when the
// kernel offers no memory files.
func newImage(s *snapshot) snapshotImage {
	fallback := &copyImage{snap: s, base: memoryAllocator()}
	img, err := newCOWImage(s)
	if err != nil {
		return fallback
	}
	img.fallback = fallback
	return img
}

func newCOWImage(s *snapshot) (*cowImage, error) {
	fd, err := unix.MemfdCreate("hearth-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	size := uint64(s.pages) * pageSize
	fail := func(err error) (*cowImage, error) {
		_ = unix.Close(fd)
		return nil, err
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail(err)
	}
	for _, c := range s.chunks {
		for done := 0; done < len(c.Data); {
			n, err := unix.Pwrite(fd, c.Data[done:], int64(c.Offset)+int64(done))
			if err != nil {
				return fail(err)
			}
			done += n
		}
	}
	// Seal it: nothing can change the snapshot once written.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fail(fmt.Errorf("seal: %w", err))
	}
	return &cowImage{fd: fd, size: size}, nil
}

// Allocate reserves max bytes and maps the snapshot privately over the
// start of the reservation.
func (c *cowImage) Allocate(capacity, max uint64) experimental.LinearMemory {
	if max < c.size || max > 4<<30 {
		return c.fallback.Allocate(capacity, max)
	}
	region, err := unix.Mmap(-1, 0, int(max), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return c.fallback.Allocate(capacity, max)
	}
	if c.size > 0 {
		if _, err := unix.MmapPtr(c.fd, 0, unsafe.Pointer(unsafe.SliceData(region)), uintptr(c.size),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
			for _, ch := range c.fallback.snap.chunks {
				copy(region[ch.Offset:], ch.Data)
			}
		}
	}
	return &unixMemory{buf: region}
}

// Close releases the memory file (mappings keep their pages).
func (c *cowImage) Close() { _ = unix.Close(c.fd) }

// unixMemory is a reservation made with x/sys/unix.
type unixMemory struct{ buf []byte }

// Reallocate reslices the reservation; nil past its end.
func (m *unixMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

// Free unmaps the reservation and the snapshot mapping in it.
func (m *unixMemory) Free() {
	if m.buf != nil {
		_ = unix.Munmap(m.buf)
		m.buf = nil
	}
}
