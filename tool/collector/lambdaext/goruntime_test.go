package lambdaext

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestProcsFollowTheFunctionsCPUShare(t *testing.T) {
	cases := map[string]struct {
		size string
		cpus int
		want int
	}{
		"128 MB":            {"128", 2, 1},
		"1769 MB: one vCPU": {"1769", 2, 1},
		"1770 MB":           {"1770", 2, 2},
		"10240 MB, 6 vCPUs": {"10240", 6, 6},
		"10240 MB, 2 CPUs":  {"10240", 2, 2},
		"unknown":           {"", 2, 0},
		"not a number":      {"big", 2, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := procsFor(tc.size, tc.cpus); got != tc.want {
				t.Errorf("procsFor(%q, %d) = %d, want %d", tc.size, tc.cpus, got, tc.want)
			}
		})
	}
}

func TestMemoryLimitIsAnEighthOfTheFunctionMemory(t *testing.T) {
	cases := map[string]struct {
		size string
		want int64
		ok   bool
	}{
		"128 MB":   {"128", 16 << 20, true},
		"512 MB":   {"512", 64 << 20, true},
		"10240 MB": {" 10240 ", 1280 << 20, true},
		"unset":    {"", 0, false},
		"garbage":  {"lots", 0, false},
		"zero":     {"0", 0, false},
		"overflow": {"99999999999999999999", 0, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := memoryLimit(tc.size)
			if got != tc.want || ok != tc.ok {
				t.Errorf("memoryLimit(%q) = %d, %v; want %d, %v", tc.size, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// currentGC reads the settings without changing them.
func currentGC() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestRuntimeSettings(t *testing.T) {
	percent, limit := currentGC()
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
		runtime.GOMAXPROCS(procs)
	})
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cases := map[string]struct {
		env                      map[string]string
		startPercent, runPercent int
		startLimit, runningLimit int64
	}{
		"lambda":              {map[string]string{memorySizeEnv: "128"}, -1, 100, 16 << 20, 16 << 20},
		"memory size unknown": {map[string]string{}, -1, 100, startLimit, math.MaxInt64},
		"GOGC set":            {map[string]string{memorySizeEnv: "256", "GOGC": "50"}, 100, 100, 32 << 20, 32 << 20},
		"GOMEMLIMIT set":      {map[string]string{memorySizeEnv: "256", "GOMEMLIMIT": "1GiB"}, -1, 100, math.MaxInt64, math.MaxInt64},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			running := runtimeSettings(env(tc.env))
			if p, l := currentGC(); p != tc.startPercent || l != tc.startLimit {
				t.Errorf("at start: GC percent %d, limit %d; want %d, %d", p, l, tc.startPercent, tc.startLimit)
			}
			running()
			if p, l := currentGC(); p != tc.runPercent || l != tc.runningLimit {
				t.Errorf("running: GC percent %d, limit %d; want %d, %d", p, l, tc.runPercent, tc.runningLimit)
			}
		})
	}
}
