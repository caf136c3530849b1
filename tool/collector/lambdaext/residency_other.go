//go:build !linux

package lambdaext

// releaseStartPages is Linux-only (Lambda runs Linux); elsewhere it does nothing.
func releaseStartPages() int { return 0 }
