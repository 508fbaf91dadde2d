// Package release stores with release order and nothing stronger, in its
// own package because a package that uses cgo cannot hold Go assembly.
package release

// StoreUint64 stores val at *addr with release order: no earlier load or
// store moves after it. It is one MOV, where sync/atomic's sequentially
// consistent store is an XCHG that waits for every earlier store to
// drain (8 ns here). Use it where the stronger order is not needed, as
// when the submission ring publishes (see the Go package's submit.go).
//
//go:noescape
func StoreUint64(addr *uint64, val uint64)
