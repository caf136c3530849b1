package lambdaext

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestCodeMappings(t *testing.T) {
	maps := `00400000-00b40000 r-xp 00000000 fd:00 123 /opt/extensions/collector
00b40000-013d4000 r--p 00740000 fd:00 123 /opt/extensions/collector
013d4000-0144f000 rw-p 00fd4000 fd:00 123 /opt/extensions/collector
0144f000-034a4000 rw-p 00000000 00:00 0
7f00000000-7f00001000 r--p 00000000 fd:00 9 /opt/extensions/collector-other
7f00002000-7f00003000 r-xp 00000000 fd:00 7 /opt/extensions/with space
7ffd0000-7ffd2000 r-xp 00000000 00:00 0 [vdso]
`
	got := codeMappings(strings.NewReader(maps), "/opt/extensions/collector")
	if len(got) != 1 || got[0] != (mapping{0x400000, 0xb40000}) {
		t.Fatalf("mappings = %x, want the executable's r-xp one only", got)
	}
	if got := codeMappings(strings.NewReader(maps), "/opt/extensions/with space"); len(got) != 1 {
		t.Errorf("a path with a space: %x", got)
	}
}

func rssFileKB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`RssFile:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no RssFile in /proc/self/status")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// The test binary's code is released, and the program runs on: what it
// needs faults back in.
func TestReleaseStartPages(t *testing.T) {
	before := rssFileKB(t)
	released := releaseStartPages()
	after := rssFileKB(t)
	if released == 0 {
		t.Fatal("no code mapping of the executable released")
	}
	if after >= before {
		t.Errorf("RssFile %d kB -> %d kB: nothing unmapped", before, after)
	}
	// Code and read-only data are intact afterwards.
	words := strings.Fields("the pages come back from the page cache on use")
	sort.Strings(words)
	if strings.Join(words, " ") != "back cache come from on page pages the the use" {
		t.Fatalf("sorted = %v", words)
	}
	if !regexp.MustCompile(`^\d+$`).MatchString(strconv.Itoa(released)) {
		t.Fatal("regexp broken after release")
	}
	t.Logf("released %d MB of mappings; RssFile %d -> %d kB", released>>20, before, after)
}
