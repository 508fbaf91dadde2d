package workqueue

import "sync/atomic"

// Getters resolve the ids the library hands out without a lock: each
// shard publishes its entries in an array of atomic pointers, indexed by
// slot, to records of key and generation. A record is made once per entry
// and never changes; the array is replaced, never resized in place, when
// the slot table outgrows it or is trimmed.
//
// Writers hold the shard's mu (all changes to entries do), so they never
// race each other; a getter reads the array and then the record
// atomically. A getter that received an id from the library reads a
// record at least as new as the one published when the id was added, so
// it finds the key unless the entry has gone since (another goroutine's
// Done finished that run and the entry was dropped): then it skips the
// id, as under a lock. Whether an entry is idle is not published: the
// library handed the id out, so it held it, and an entry goes idle only
// once the library no longer holds its id, after a Done of this very run.

// record is what a getter reads for an entry.
type record[T comparable] struct {
	key T
	gen uint32
}

// published is a shard's array of records, nil at empty slots.
type published[T comparable] = []atomic.Pointer[record[T]]

// publish sets slot idx's record (nil: none); mu is held.
func (sh *shard[T]) publish(idx uint32, r *record[T]) {
	arr := sh.records.Load()
	if arr == nil || int(idx) >= len(*arr) {
		if r == nil {
			return
		}
		arr = sh.republish(max(2*int(idx)+2, minRecords))
	}
	(*arr)[idx].Store(r)
}

// minRecords is the smallest published array.
const minRecords = 8

// republish replaces the published array with one of n places holding the
// current records (those of slots past n are dropped); mu is held.
func (sh *shard[T]) republish(n int) *published[T] {
	arr := make(published[T], n)
	if old := sh.records.Load(); old != nil {
		for i := range min(n, len(*old)) {
			arr[i].Store((*old)[i].Load())
		}
	}
	sh.records.Store(&arr)
	return &arr
}

// keyOf resolves an id made by this interner, without a lock; false when
// its entry is gone.
func (in *interner[T]) keyOf(id uint64) (T, bool) {
	return in.shardOfID(id).keyOf(id)
}

// keyOf resolves id, one of this shard's, without a lock.
func (sh *shard[T]) keyOf(id uint64) (T, bool) {
	if arr := sh.records.Load(); arr != nil {
		if idx := uint32(id); int(idx) < len(*arr) {
			if r := (*arr)[idx].Load(); r != nil && uint64(r.gen) == id>>(slotBits+shardBits) {
				return r.key, true
			}
		}
	}
	var zero T
	return zero, false
}
