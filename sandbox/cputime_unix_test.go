//go:build unix

package sandbox_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user plus system time (all goroutines,
// including the garbage collector).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}
