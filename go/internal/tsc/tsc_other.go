//go:build !amd64

// Package tsc reads the CPU's time-stamp counter, in its own package
// because a package that uses cgo cannot hold Go assembly.
package tsc

// Read is 0 off x86-64: the library asks for counter stamps only there
// (elsewhere a named queue's producers call), so it is never used.
func Read() uint64 { return 0 }
