//go:build !amd64

// Package release stores with release order and nothing stronger, in its
// own package because a package that uses cgo cannot hold Go assembly.
package release

import "sync/atomic"

// StoreUint64 stores val at *addr with release order at least: off
// x86-64 it is sync/atomic's store (on arm64 that is STLR, a release
// store already).
func StoreUint64(addr *uint64, val uint64) { atomic.StoreUint64(addr, val) }
