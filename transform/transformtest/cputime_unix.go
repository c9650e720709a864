//go:build unix

package transformtest

import (
	"syscall"
	"time"
)

// CPUTime returns the user and system CPU time the process has used so
// far, for benchmarks on a shared machine: other processes stretch the
// wall time of a benchmark, much less the CPU time it uses.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
