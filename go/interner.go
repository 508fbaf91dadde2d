package workqueue

import (
	"hash/maphash"
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// interner maps keys of any comparable type to the uint64 ids the library
// queues, and back.
//
// It is sharded by the key's hash; each shard has a slot table id → key
// and an index key → slot (index.go) that reuses the hash, so an
// operation hashes its key once. An id carries its shard, its slot and the
// slot's generation, so an id that outlived its entry never resolves to a
// later key that reuses the slot.
//
// Two locks per shard. mu guards the index; a queue holds it across its call
// into the library (see Typed.add), so that an add, or a done and its
// check of wq_queue_holds, is atomic with the creation or removal of the
// entry. slotMu guards the slot table and is held for a few instructions.
// Getters take neither: they resolve ids through records the shard
// publishes (published.go), so a get never waits behind another
// goroutine's add, done or call into the library.
//
// The size stays bounded because an entry is removed as soon as the
// library no longer holds its id, a shard's index shrinks with its
// entries, and its slot table when it empties or falls to a quarter of
// its peak. A queue keeps the entries of
// its last few finished items a little longer (retire): idle, resolving no
// id, so that adding such an item again, as controllers do all the time,
// costs a lookup instead of a new entry; at most maxIdle per shard.
// Only for items that hold no pointers but strings: an item that may
// refer to other objects is dropped at once, so that they can be
// collected (as with client-go).
type interner[T comparable] struct {
	seed     maphash.Seed
	mask     uint64
	shards   []shard[T]
	keepIdle bool // the items hold no pointers but strings
}

const (
	slotBits  = 32
	shardBits = 8 // at most 256 shards
	genBits   = 64 - slotBits - shardBits
	genMask   = 1<<genBits - 1
)

type shard[T comparable] struct {
	mu    sync.Mutex // guards cells, shift, count, peak, sweep (see index.go)
	cells []cell
	shift uint8 // 32 - log2(len(cells))
	count int   // entries, idle ones too
	peak  int   // largest count since the slots were last trimmed
	sweep int   // count at which a limiter's shard checks for stale entries

	records atomic.Pointer[published[T]] // what getters read (published.go); written under mu

	slotMu sync.Mutex // guards slots, free, gen, retired
	slots  []slot[T]
	free   []uint32
	gen    uint32 // the generation the next entry gets
	index  uint64 // this shard's number, in place for ids
	// retired: the last maxIdle retirements, a ring indexed by their
	// sequence number; an idle entry's latest retirement is in it.
	retired  [maxIdle]retirement
	retireNo uint32 // the sequence number of the next retirement
	idle     int    // idle entries (guarded by mu)
	keepIdle bool   // the items hold no pointers but strings

	// pending: ids of items submitted as done (see Typed.Done), whose
	// entries go idle once the library is asked whether it still holds
	// them; held is the answer's scratch. Guarded by mu.
	pending []uint64
	held    []bool
}

// maxPending is how many done submissions a shard collects before it asks
// the library which of their items it still holds (one call for all).
const maxPending = 32

// retirement records that an entry went idle, so that it can be removed
// once maxIdle later retirements have happened, unless it was added again
// (and maybe retired again) meanwhile.
type retirement struct {
	id uint64
	no uint32
}

type slot[T comparable] struct {
	// record: the entry's published record (published.go), which holds
	// its key; nil while the slot is free.
	record *record[T]
	tag    uint32 // the key's tag in the index (to find its cell)
	gen    uint32
	live   bool
	// idle: the entry is retired, the library does not hold its id.
	// Guarded by mu: only goroutines holding mu read it (getters resolve
	// ids without it, see published.go).
	idle      bool
	flags     uint8  // the scheduling queue's per-item state (see squeue.go)
	retiredNo uint32 // the sequence number of its latest retirement
}

// maxIdle is how many idle entries a shard keeps.
const maxIdle = 32

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
	keepIdle := onlyStringPointers(reflect.TypeFor[T]())
	in.keepIdle = keepIdle
	for i := range in.shards {
		in.shards[i].index = uint64(i)
		in.shards[i].sweep = minSweep
		in.shards[i].keepIdle = keepIdle
	}
	return in
}

// onlyStringPointers reports whether values of t hold no pointers but
// those of strings, so keeping one refers to no other object.
func onlyStringPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return onlyStringPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !onlyStringPointers(t.Field(i).Type) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// shardOf is the shard that owns key, and key's hash (for the shard's
// lookup and intern).
func (in *interner[T]) shardOf(key T) (*shard[T], uint64) {
	h := in.hash(key)
	return &in.shards[h&in.mask], h
}

// hash is key's hash: its low bits pick the shard.
func (in *interner[T]) hash(key T) uint64 {
	return maphash.Comparable(in.seed, key)
}

// shardOfID is the shard that made id.
func (in *interner[T]) shardOfID(id uint64) *shard[T] {
	return &in.shards[(id>>slotBits)&in.mask]
}

// len counts the entries of items the library holds (not idle ones).
func (in *interner[T]) len() int {
	n := 0
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		n += sh.count - sh.idle
		sh.mu.Unlock()
	}
	return n
}

// entries counts every entry, idle ones too.
func (in *interner[T]) entries() int {
	n := 0
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		n += sh.count
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

// lookup is the id of key (hash h), if interned.
func (sh *shard[T]) lookup(key T, h uint64) (uint64, bool) {
	idx, _, ok := sh.find(key, h)
	if !ok {
		return 0, false
	}
	return sh.idOf(idx), true
}

// idOf is the id of the entry in slot idx.
func (sh *shard[T]) idOf(idx uint32) uint64 {
	return uint64(idx) | sh.index<<slotBits | uint64(sh.slots[idx].gen)<<(slotBits+shardBits)
}

// intern returns key's id (hash h), making an entry when there is none.
// created is also true when an idle entry became active again: either way
// the library did not hold the id before.
func (sh *shard[T]) intern(key T, h uint64) (id uint64, created bool) {
	idx, at, ok := sh.find(key, h)
	if ok {
		if s := &sh.slots[idx]; s.idle {
			s.idle = false
			sh.idle--
			return sh.idOf(idx), true
		}
		return sh.idOf(idx), false
	}
	sh.slotMu.Lock()
	if n := len(sh.free); n > 0 {
		idx = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		idx = uint32(len(sh.slots))
		sh.slots = append(sh.slots, slot[T]{})
	}
	s := &sh.slots[idx]
	s.tag = tagOf(h)
	s.live = true
	s.idle = false
	s.flags = 0
	s.gen = sh.gen
	sh.gen = (sh.gen + 1) & genMask
	s.record = &record[T]{key: key, gen: s.gen}
	id = sh.idOf(idx)
	sh.slotMu.Unlock()
	sh.publish(idx, s.record)
	sh.place(idx, h, at)
	sh.peak = max(sh.peak, sh.count)
	return id, true
}

// keyOfMark resolves id and sets flags on its entry, atomically. It
// holds only slotMu, so it cannot tell an idle entry (see published.go
// for why a getter need not).
func (in *interner[T]) keyOfMark(id uint64, flags uint8) (T, bool) {
	sh := in.shardOfID(id)
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.entryOf(id); s != nil {
		s.flags |= flags
		return s.record.key, true
	}
	var zero T
	return zero, false
}

// slotOf is id's live slot, nil if gone or idle; both locks are held.
func (sh *shard[T]) slotOf(id uint64) *slot[T] {
	if s := sh.entryOf(id); s != nil && !s.idle {
		return s
	}
	return nil
}

// entryOf is id's slot while its entry exists, idle or not; slotMu is
// held.
func (sh *shard[T]) entryOf(id uint64) *slot[T] {
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

// retire is remove for an item whose run the library has just finished
// (it no longer holds id): the entry stays, idle, until maxIdle later
// retirements in the shard push it out (unless keepIdle is off). mu is
// held.
func (sh *shard[T]) retire(id uint64) {
	sh.slotMu.Lock()
	sh.retireLocked(id)
	sh.slotMu.Unlock()
}

// pend records that id's item was submitted as done; true when the shard
// has collected enough for verify. mu is held.
func (sh *shard[T]) pend(id uint64) bool {
	sh.pending = append(sh.pending, id)
	return len(sh.pending) >= maxPending
}

// verify retires the entries of pending items the library no longer
// holds, as holds answers for them (one call for the shard). mu is held,
// so no add of these items can be on its way meanwhile.
func (sh *shard[T]) verify(holds func(ids []uint64, held []bool) status) {
	if len(sh.pending) == 0 {
		return
	}
	if cap(sh.held) < len(sh.pending) {
		sh.held = make([]bool, len(sh.pending), max(len(sh.pending), maxPending))
	}
	held := sh.held[:len(sh.pending)]
	if holds(sh.pending, held) == stOK {
		sh.slotMu.Lock()
		for i, id := range sh.pending {
			if !held[i] {
				sh.retireLocked(id)
			}
		}
		sh.slotMu.Unlock()
	}
	sh.pending = sh.pending[:0]
}

// retireLocked is retire with both locks held.
func (sh *shard[T]) retireLocked(id uint64) {
	if !sh.keepIdle {
		sh.removeLocked(id)
		return
	}
	if s := sh.slotOf(id); s != nil {
		no := sh.retireNo
		sh.retireNo++
		r := &sh.retired[no%maxIdle]
		if o := sh.entryOf(r.id); o != nil && o.idle && o.retiredNo == r.no {
			sh.removeLocked(r.id) // maxIdle retirements ago
		}
		*r = retirement{id: id, no: no}
		s.idle = true
		s.retiredNo = no
		sh.idle++
	}
}

// remove drops id's entry if it still exists; it reports whether it did
// (a second remove of the same entry does nothing). mu is held.
func (sh *shard[T]) remove(id uint64) bool {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	return sh.removeLocked(id)
}

// removeUnlessFlagged is remove, unless id's entry has one of the flags
// in unless: then it sets set on it instead. Atomic with keyOfMark.
// It reports whether it removed the entry.
func (sh *shard[T]) removeUnlessFlagged(id uint64, unless, set uint8) bool {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	if s := sh.slotOf(id); s != nil && s.flags&unless != 0 {
		s.flags |= set
		return false
	}
	return sh.removeLocked(id)
}

// removeLocked is remove with both locks held.
func (sh *shard[T]) removeLocked(id uint64) bool {
	s := sh.entryOf(id)
	if s == nil {
		return false
	}
	if s.idle {
		s.idle = false
		sh.idle--
	}
	idx := uint32(id)
	sh.unplace(idx, s.tag)
	s.record = nil // let the key be collected
	sh.publish(idx, nil)
	s.live = false
	sh.free = append(sh.free, idx)
	if sh.count == 0 && cap(sh.slots) > 64 {
		sh.rebuild(true)
	} else if sh.peak >= 1024 && sh.count < sh.peak/4 {
		sh.rebuild(false)
	}
	return true
}

// ids appends the id of every entry, idle ones too, to dst. mu is held.
func (sh *shard[T]) ids(dst []uint64) []uint64 {
	sh.slotMu.Lock()
	defer sh.slotMu.Unlock()
	for i := range sh.slots {
		if sh.slots[i].live {
			dst = append(dst, sh.idOf(uint32(i)))
		}
	}
	return dst
}

// rebuild trims the slot table past its highest live slot (the index
// shrinks on its own, see unplace). With empty set, every entry is
// dropped. Generations keep counting, so ids from before never resolve.
// Both locks are held.
func (sh *shard[T]) rebuild(empty bool) {
	if empty || sh.count == 0 {
		sh.resize(0)
		sh.records.Store(nil)
		sh.count = 0
		sh.slots = nil
		sh.free = nil
		sh.retired = [maxIdle]retirement{}
		sh.idle = 0
		sh.pending = nil
		sh.peak = 0
		sh.sweep = minSweep
		return
	}
	hi := len(sh.slots) - 1
	for !sh.slots[hi].live {
		hi--
	}
	slots := make([]slot[T], hi+1)
	copy(slots, sh.slots[:hi+1])
	sh.slots = slots
	sh.republish(hi + 1)
	var free []uint32
	for i := range slots {
		if !slots[i].live {
			free = append(free, uint32(i))
		}
	}
	sh.free = free
	sh.peak = sh.count
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
