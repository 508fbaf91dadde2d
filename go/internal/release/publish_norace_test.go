//go:build !race

// The race detector cannot see the order an assembly store gives (it
// would report the plain data stores below); the submission ring it is
// for lives in C memory, which the detector does not watch.

package release

import (
	"sync/atomic"
	"testing"
)

// TestStoreUint64Publishes passes messages through a release store: a
// reader that sees round i's flag sees the data written before it.
func TestStoreUint64Publishes(t *testing.T) {
	const rounds = 100_000
	var data [4]uint64
	var flag, ack uint64
	go func() {
		for i := uint64(1); i <= rounds; i++ {
			for atomic.LoadUint64(&ack) != i-1 {
			}
			for j := range data {
				data[j] = i // plain stores, published by the flag
			}
			StoreUint64(&flag, i)
		}
	}()
	for i := uint64(1); i <= rounds; i++ {
		for atomic.LoadUint64(&flag) != i {
		}
		for j := range data {
			if data[j] != i {
				t.Fatalf("round %d: data[%d] is %d", i, j, data[j])
			}
		}
		atomic.StoreUint64(&ack, i)
	}
}
