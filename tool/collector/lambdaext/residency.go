package lambdaext

// Start-up pages of the binary.
//
// Most of the extension's resident memory is its own binary, mapped from the
// file: package initialisers are spread over the whole code segment, the
// collector's one-time start code (configuration decoding, copying and
// validation, building the pipeline graph) over much of the rest, and Linux
// maps up to 64 KB around every page fault in a file (fault-around). So by
// the time the collector runs, 7 of its 7.4 MB of code are mapped
// (bench/extension.py, awsxray), though the steady state (receive, batch,
// export) runs a fraction of it.
//
// releaseStartPages tells the kernel (madvise MADV_DONTNEED) that the
// binary's code mapping is not needed: its page-table entries go, the pages
// stay in the page cache, and whatever code runs next faults its pages back
// in from there (a minor fault, no I/O). It runs once, when the collector is
// running, before the first /event/next. Only the executable's private
// read-only code mapping (r-xp) is touched, never data, heap or stacks, and
// for a mapping never written to, the file's content is what comes back.
// Read-only data (type descriptors, the function tables the garbage
// collector and every stack walk read) stays mapped: the steady state uses
// it all over, and refaulting it cost more start CPU than it saved.
//
// Measured (bench/extension.py's trial, awsxray, alternating rounds): peak
// RSS after 1,000 posts 22.4 -> 19.3 MB for +0.3 to +0.9 ms (2-6%) of start
// CPU; also releasing after package initialisation, or the read-only data
// too, reached 17.7 MB for +1.4 to +1.7 ms (+10-12%). Lambda's memory metric may count
// the binary's pages in the page cache as well; unmapped, they are the first
// memory the kernel reclaims when the function needs it.
