package lambdaext

import (
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Go runtime settings for the extension (not for the CLI).
//
//   - One scheduler thread per vCPU's worth of CPU time the function gets:
//     Lambda shows every function 2 or more vCPUs but gives it CPU time in
//     proportion to its memory, one vCPU per 1769 MB. Below that, a second
//     Go P only adds a garbage-collection worker and memory caches competing
//     for the same small share (measured: -0.6 MB peak RSS, no slower start).
//
//   - During start the collector allocates a few MB that are all garbage once
//     it runs (configuration maps decoded, copied and re-encoded). A collection
//     in the middle of that costs CPU the function's own init is waiting for
//     (a 128 MB function has ~1/14 of a vCPU), so collection is off until the
//     collector is running, bounded by the memory limit below.
//   - A soft memory limit of 1/8 of the function's memory
//     (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB): the collector shares that
//     memory with the function, so under a burst it collects harder rather
//     than pushing the function towards an out-of-memory kill. 16 MB for a
//     128 MB function, well above the ~5 MB heap it normally holds.
//
// GOMAXPROCS, GOGC and GOMEMLIMIT in the environment take precedence, as in
// any Go program.

const (
	memorySizeEnv = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
	// memoryShare is the fraction of the function's memory the collector's
	// heap is kept under.
	memoryShare = 8
	// startLimit bounds the heap while collection is off and the function's
	// memory size is unknown.
	startLimit = 64 << 20
	// vcpuMemoryMB is the function memory that buys one vCPU of CPU time.
	vcpuMemoryMB = 1769
)

// procsFor is GOMAXPROCS for a function of memorySize MB on a machine with
// cpus CPUs (0: leave the default).
func procsFor(memorySize string, cpus int) int {
	mb, err := strconv.ParseInt(strings.TrimSpace(memorySize), 10, 64)
	if err != nil || mb <= 0 {
		return 0
	}
	procs := int((mb + vcpuMemoryMB - 1) / vcpuMemoryMB)
	return min(procs, cpus)
}

// memoryLimit is the soft limit for a function of memorySize MB ("" or
// invalid: none).
func memoryLimit(memorySize string) (int64, bool) {
	mb, err := strconv.ParseInt(strings.TrimSpace(memorySize), 10, 64)
	if err != nil || mb <= 0 || mb > math.MaxInt64>>20 {
		return 0, false
	}
	return mb << 20 / memoryShare, true
}

// runtimeSettings applies the start-up settings and returns the function
// that applies the steady-state ones once the collector is running.
func runtimeSettings(getenv func(string) string) (running func()) {
	if getenv("GOMAXPROCS") == "" {
		if procs := procsFor(getenv(memorySizeEnv), runtime.NumCPU()); procs > 0 {
			runtime.GOMAXPROCS(procs)
		}
	}
	var restore []func()
	if getenv("GOMEMLIMIT") == "" {
		if limit, ok := memoryLimit(getenv(memorySizeEnv)); ok {
			debug.SetMemoryLimit(limit)
		} else if getenv("GOGC") == "" {
			// Only while collection is off: without a known memory size there
			// is no limit afterwards, as in any Go program.
			debug.SetMemoryLimit(startLimit)
			restore = append(restore, func() { debug.SetMemoryLimit(math.MaxInt64) })
		}
	}
	if getenv("GOGC") == "" {
		percent := debug.SetGCPercent(-1)
		restore = append(restore, func() { debug.SetGCPercent(percent) })
	}
	return func() {
		for _, f := range restore {
			f()
		}
	}
}
