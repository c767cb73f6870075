//go:build !linux

package safety

import "testing"

// measureCPU runs f b.N times (thread CPU time is reported on Linux only).
func measureCPU(b *testing.B, f func()) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f()
	}
}
