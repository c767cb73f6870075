//go:build unix

package memory

import (
	"syscall"
	"time"
)

// cpuNow is the process's user+system CPU time (all goroutines, GC
// included), or 0 when it cannot be read.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
