package workqueue

import (
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"unsafe"
)

// interner maps keys of any comparable type to the uint64 ids the library
// queues, and back.
//
// It is sharded by the key's hash; each shard has a map key → id and a
// slot table id → key. An id carries its shard, its slot and the slot's
// generation, so an id that outlived its entry never resolves to a later
// key that reuses the slot.
//
// Two locks per shard. mu guards the map; a queue holds it across its call
// into the library (see Typed.add), so that an add, or a done and its
// check of wq_queue_holds, is atomic with the creation or removal of the
// entry. slotMu guards the slot table and is held for a few instructions:
// resolving the id a getter just received never waits behind another
// goroutine's call into the library.
//
// The size stays bounded because an entry is removed as soon as the
// library no longer holds its id, and a shard's storage shrinks when it
// empties or falls to a quarter of its peak.
type interner[T comparable] struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard[T]
}

const (
	slotBits  = 32
	shardBits = 8 // at most 256 shards
	genBits   = 64 - slotBits - shardBits
	genMask   = 1<<genBits - 1
)

type shard[T comparable] struct {
	mu    sync.Mutex // guards ids, peak, sweep
	ids   map[T]uint64
	peak  int // largest len(ids) since the storage was last rebuilt
	sweep int // len(ids) at which a limiter's shard checks for stale entries

	slotMu sync.Mutex // guards slots, free, gen
	slots  []slot[T]
	free   []uint32
	gen    uint32 // the generation the next entry gets
	index  uint64 // this shard's number, in place for ids
	_      [40]byte
}

type slot[T comparable] struct {
	key   T
	gen   uint32
	live  bool
	flags uint8 // the scheduling queue's per-item state (see squeue.go)
}

func newInterner[T comparable]() *interner[T] {
	n := 16 * runtime.GOMAXPROCS(0)
	if n < 64 {
		n = 64
	}
	if n > 1<<shardBits {
		n = 1 << shardBits
	}
	n = 1 << bits.Len(uint(n-1)) // a power of two
	in := &interner[T]{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard[T], n)}
	for i := range in.shards {
		in.shards[i].index = uint64(i)
		in.shards[i].ids = make(map[T]uint64)
		in.shards[i].sweep = minSweep
	}
	return in
}

// shardOf is the shard that owns key.
func (in *interner[T]) shardOf(key T) *shard[T] {
	return &in.shards[in.shardIndex(key)]
}

// shardIndex is the number of the shard that owns key.
func (in *interner[T]) shardIndex(key T) uint64 {
	return maphash.Comparable(in.seed, key) & in.mask
}

// shardOfID is the shard that made id.
func (in *interner[T]) shardOfID(id uint64) *shard[T] {
	return &in.shards[(id>>slotBits)&in.mask]
}

// keyOf resolves an id made by this interner; false when its entry is gone.
func (in *interner[T]) keyOf(id uint64) (T, bool) {
	sh := in.shardOfID(id)
	sh.slotMu.Lock()
	key, ok := sh.keyLocked(id)
	sh.slotMu.Unlock()
	return key, ok
}

// len counts the entries.
func (in *interner[T]) len() int {
	n := 0
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		n += len(sh.ids)
		sh.mu.Unlock()
	}
	return n
}

// reset drops every entry.
func (in *interner[T]) reset() {
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		sh.slotMu.Lock()
		sh.rebuild(true)
		sh.slotMu.Unlock()
		sh.mu.Unlock()
	}
}

// ---- under the shard's mu -----------------------------------------------

// lookup is the id of key, if interned.
func (sh *shard[T]) lookup(key T) (uint64, bool) {
	id, ok := sh.ids[key]
	return id, ok
}

// intern returns key's id, making an entry when there is none.
func (sh *shard[T]) intern(key T) (id uint64, created bool) {
	if id, ok := sh.ids[key]; ok {
		return id, false
	}
	sh.slotMu.Lock()
	var idx uint32
	if n := len(sh.free); n > 0 {
		idx = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		idx = uint32(len(sh.slots))
		sh.slots = append(sh.slots, slot[T]{})
	}
	s := &sh.slots[idx]
	s.key = key
	s.live = true
	s.flags = 0
	s.gen = sh.gen
	sh.gen = (sh.gen + 1) & genMask
	id = uint64(idx) | sh.index<<slotBits | uint64(s.gen)<<(slotBits+shardBits)
	sh.slotMu.Unlock()
	sh.ids[key] = id
	if len(sh.ids) > sh.peak {
		sh.peak = len(sh.ids)
	}
	return id, true
}

// keyOfMark resolves id and sets flags on its entry, atomically.
func (in *interner[T]) keyOfMark(id uint64, flags uint8) (T, bool) {
	sh := in.shardOfID(id)
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.slotOf(id); s != nil {
		s.flags |= flags
		return s.key, true
	}
	var zero T
	return zero, false
}

// slotOf is id's live slot, nil if gone; slotMu is held.
func (sh *shard[T]) slotOf(id uint64) *slot[T] {
	idx := uint32(id)
	if int(idx) < len(sh.slots) {
		s := &sh.slots[idx]
		if s.live && uint64(s.gen) == id>>(slotBits+shardBits) {
			return s
		}
	}
	return nil
}

// flagsOf is the flags of id's entry (0 if gone); mu is held.
func (sh *shard[T]) flagsOf(id uint64) uint8 {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.slotOf(id); s != nil {
		return s.flags
	}
	return 0
}

// setFlags sets then clears flags on id's entry; mu is held.
func (sh *shard[T]) setFlags(id uint64, set, clear uint8) {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.slotOf(id); s != nil {
		s.flags = s.flags&^clear | set
	}
}

// keyLocked resolves id; slotMu is held (mu need not be).
func (sh *shard[T]) keyLocked(id uint64) (T, bool) {
	idx := uint32(id)
	if int(idx) < len(sh.slots) {
		s := &sh.slots[idx]
		if s.live && uint64(s.gen) == id>>(slotBits+shardBits) {
			return s.key, true
		}
	}
	var zero T
	return zero, false
}

// remove drops key's entry if id is still its id; it reports whether it
// did (a second remove of the same entry does nothing).
func (sh *shard[T]) remove(key T, id uint64) bool {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	return sh.removeLocked(key, id)
}

// removeUnlessFlagged is remove, unless id's entry has one of the flags
// in unless: then it sets set on it instead. Atomic with keyOfMark.
// It reports whether it removed the entry.
func (sh *shard[T]) removeUnlessFlagged(key T, id uint64, unless, set uint8) bool {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.slotOf(id); s != nil && s.flags&unless != 0 {
		s.flags |= set
		return false
	}
	return sh.removeLocked(key, id)
}

// removeLocked is remove with both locks held.
func (sh *shard[T]) removeLocked(key T, id uint64) bool {
	idx := uint32(id)
	if int(idx) >= len(sh.slots) {
		return false
	}
	s := &sh.slots[idx]
	if !s.live || uint64(s.gen) != id>>(slotBits+shardBits) {
		return false
	}
	delete(sh.ids, key)
	var zero T
	s.key = zero // let the key be collected
	s.live = false
	sh.free = append(sh.free, idx)
	if len(sh.ids) == 0 && cap(sh.slots) > 64 {
		sh.rebuild(true)
	} else if sh.peak >= 1024 && len(sh.ids) < sh.peak/4 {
		sh.rebuild(false)
	}
	return true
}

// rebuild gives the shard storage sized for its live entries: Go maps
// never shrink, so a map that once held a million keys is copied, and the
// slots past the highest live one are dropped. With empty set, every
// entry is dropped. Generations keep counting, so ids from before never
// resolve. Both locks are held.
func (sh *shard[T]) rebuild(empty bool) {
	if empty || len(sh.ids) == 0 {
		sh.ids = make(map[T]uint64)
		sh.slots = nil
		sh.free = nil
		sh.peak = 0
		sh.sweep = minSweep
		return
	}
	ids := make(map[T]uint64, len(sh.ids))
	hi := -1
	for k, id := range sh.ids {
		ids[k] = id
		if i := int(uint32(id)); i > hi {
			hi = i
		}
	}
	sh.ids = ids
	slots := make([]slot[T], hi+1)
	copy(slots, sh.slots[:hi+1])
	sh.slots = slots
	var free []uint32
	for i := range slots {
		if !slots[i].live {
			free = append(free, uint32(i))
		}
	}
	sh.free = free
	sh.peak = len(ids)
}

// minSweep is the smallest shard size at which a limiter's shard checks
// its entries against the library (see nativeLimiter.When).
const minSweep = 1024

// asUint64 reads a key of type uint64 without boxing it.
func asUint64[T comparable](key *T) uint64 { return *(*uint64)(unsafe.Pointer(key)) }

// isUint64 reports whether T is exactly uint64, so keys are their own ids.
func isUint64[T comparable]() bool {
	var zero T
	_, ok := any(zero).(uint64)
	return ok
}
