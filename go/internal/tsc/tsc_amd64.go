// Package tsc reads the CPU's time-stamp counter, in its own package
// because a package that uses cgo cannot hold Go assembly.
package tsc

// Read returns the time-stamp counter (RDTSC, not serializing: a few
// nanoseconds of reordering are below what the metrics resolve).
func Read() uint64
