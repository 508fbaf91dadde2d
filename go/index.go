package workqueue

// A shard's index from keys to slots: open addressing with linear probing,
// keyed by the hash the interner already computed to pick the shard, so an
// operation hashes its key once (a Go map would hash it again, and would
// keep a second copy of every key). The cells hold slot numbers; the keys
// stay in the slots. Removal shifts the cells after a hole back, so there
// are no tombstones, and the table, at most half full, halves when it falls to an eighth,
// so its size follows the shard's live entries (Go maps never shrink).
//
// Every method runs under the shard's mu.

// cell is one place of the index.
type cell struct {
	tag  uint32 // the top 32 bits of the key's hash: its home cell and a filter
	slot uint32 // the slot's index + 1; 0 when the cell is empty
}

// minCells is the smallest table.
const minCells = 8

// tagOf is hash h's tag: its top bits, because its low bits pick the
// shard.
func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// home is the cell where a probe for tag starts: its top bits, so that
// moving a cell needs nothing but the cell.
func (sh *shard[T]) home(tag uint32) uint32 { return tag >> sh.shift }

// find is the slot of key (hash h), or where the probe ended: the empty
// cell a new entry takes.
func (sh *shard[T]) find(key T, h uint64) (idx uint32, at uint32, ok bool) {
	if len(sh.cells) == 0 {
		return 0, 0, false
	}
	mask := uint32(len(sh.cells) - 1)
	tag := tagOf(h)
	for at = sh.home(tag); ; at = (at + 1) & mask {
		c := sh.cells[at]
		if c.slot == 0 {
			return 0, at, false
		}
		if c.tag == tag && sh.slots[c.slot-1].record.key == key {
			return c.slot - 1, at, true
		}
	}
}

// place records slot idx (hash h) in empty cell at, which find returned.
// When the table must grow first, at is stale and place finds a new one.
func (sh *shard[T]) place(idx uint32, h uint64, at uint32) {
	c := cell{tag: tagOf(h), slot: idx + 1}
	if (sh.count+1)*2 > len(sh.cells) {
		sh.resize(max(minCells, 2*len(sh.cells)))
		at = sh.emptyCellFor(c.tag)
	}
	sh.cells[at] = c
	sh.count++
}

// emptyCellFor is the first empty cell of tag's probe.
func (sh *shard[T]) emptyCellFor(tag uint32) uint32 {
	mask := uint32(len(sh.cells) - 1)
	at := sh.home(tag)
	for sh.cells[at].slot != 0 {
		at = (at + 1) & mask
	}
	return at
}

// unplace removes slot idx, whose key has tag, from the index.
func (sh *shard[T]) unplace(idx uint32, tag uint32) {
	mask := uint32(len(sh.cells) - 1)
	hole := sh.home(tag)
	for sh.cells[hole].slot != idx+1 {
		hole = (hole + 1) & mask
	}
	// Move back every later cell of the run whose probe passes the hole.
	for at := (hole + 1) & mask; sh.cells[at].slot != 0; at = (at + 1) & mask {
		c := sh.cells[at]
		from := sh.home(c.tag)
		if (at-from)&mask >= (at-hole)&mask {
			sh.cells[hole] = c
			hole = at
		}
	}
	sh.cells[hole] = cell{}
	sh.count--
	if len(sh.cells) > minCells && sh.count*8 < len(sh.cells) {
		sh.resize(len(sh.cells) / 2)
	}
}

// resize rebuilds the index with n cells (a power of two); n == 0 drops it.
func (sh *shard[T]) resize(n int) {
	old := sh.cells
	sh.cells = nil
	if n == 0 {
		return
	}
	sh.cells = make([]cell, n)
	sh.shift = uint8(32 - log2(n))
	for _, c := range old {
		if c.slot != 0 {
			sh.cells[sh.emptyCellFor(c.tag)] = c
		}
	}
}

// log2 of n, a power of two.
func log2(n int) int {
	k := 0
	for n > 1 {
		n >>= 1
		k++
	}
	return k
}
