package release

import (
	"sync/atomic"
	"testing"
)

func TestStoreUint64Stores(t *testing.T) {
	var v uint64
	for _, want := range []uint64{1, 1 << 63, ^uint64(0), 0} {
		StoreUint64(&v, want)
		if got := atomic.LoadUint64(&v); got != want {
			t.Fatalf("stored %#x, read %#x", want, got)
		}
	}
}
