//go:build !linux

package sandbox

// newImage returns the copying image (copy-on-write needs Linux memory
// files).
func newImage(s *snapshot) snapshotImage { return &copyImage{snap: s, base: memoryAllocator()} }
