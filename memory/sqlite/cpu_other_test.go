//go:build !unix

package sqlite_test

import "testing"

type cpuClock struct{}

func startCPU() cpuClock { return cpuClock{} }

func (cpuClock) report(*testing.B) {}
