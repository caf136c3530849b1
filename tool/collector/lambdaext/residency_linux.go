package lambdaext

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseStartPages drops the page-table entries of the executable's code
// mapping (see residency.go). It returns how many bytes of mappings it
// advised; errors only mean nothing was released.
func releaseStartPages() int {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer maps.Close()
	released := 0
	for _, m := range codeMappings(maps, exe) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno == 0 {
			released += int(m.end - m.start)
		}
	}
	return released
}

type mapping struct{ start, end uintptr }

// codeMappings are the r-xp (private, read-only, executable) lines of
// /proc/self/maps for path.
func codeMappings(maps io.Reader, path string) []mapping {
	var out []mapping
	s := bufio.NewScanner(maps)
	for s.Scan() {
		// address perms offset dev inode pathname
		fields := strings.Fields(s.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path || fields[1] != "r-xp" {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out
}
