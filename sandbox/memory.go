package sandbox

// heapMemory is a growable linear memory on the Go heap, the fallback
// when a mapping cannot be made.
type heapMemory struct{ buf []byte }

// Reallocate grows the buffer, copying when it must.
func (m *heapMemory) Reallocate(size uint64) []byte {
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	nb := make([]byte, size, max(size, 2*uint64(cap(m.buf))))
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free drops the buffer.
func (m *heapMemory) Free() { m.buf = nil }
