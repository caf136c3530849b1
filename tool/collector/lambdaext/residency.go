package lambdaext

// Start-up pages of the binary.
//
// Most of the extension's resident memory is its own binary, mapped from the
// file: package initialisers are spread over the whole text segment, the
// collector's one-time start code (configuration decoding, copying and
// validation, building the pipeline graph) over much of the rest, and Linux
// maps up to 64 KB around every page fault in a file (fault-around). So by
// the time the collector runs, nearly every page of code and read-only data
// is mapped (bench/extension.py: 14 MB of 16 MB), though the steady state
// (receive, batch, export) uses a fraction of it.
//
// releaseStartPages tells the kernel (madvise MADV_DONTNEED) that the
// binary's read-only mappings are not needed: their page-table entries go,
// the pages stay in the page cache, and whatever code runs next faults its
// pages back in from there (a minor fault, no I/O). It is called twice: once
// package initialisation is over, and once the collector is running. Only
// the executable's own read-only mappings (r-xp, r--p) are touched: writable
// data, the heap and stacks never are, and for a private mapping never
// written to the file's content is what comes back.
//
// Measured (bench/extension.py, awsxray): peak RSS after 1,000 posts 22.5 ->
// 18.0 MB, start CPU unchanged within noise. Lambda's memory metric may also
// count the binary's pages in the page cache; unmapped there, they are the
// first memory the kernel reclaims when the function needs it.
