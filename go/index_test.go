package workqueue

import (
	"math/rand/v2"
	"testing"
)

// The shard index against a Go map, under random interns and removals.
// Hashes are chosen badly on purpose (few distinct home cells, equal tags)
// so probes run long, wrap around the table's end, and removals shift
// cells back across it.
func TestShardIndexMatchesMap(t *testing.T) {
	for _, homes := range []uint64{1, 3, 64} {
		rng := rand.New(rand.NewPCG(1, homes))
		sh := &shard[int]{keepIdle: true}
		hash := func(k int) uint64 { return uint64(k)%homes<<58 | uint64(k%5)<<32 }
		model := map[int]uint64{}
		for step := 0; step < 20_000; step++ {
			k := rng.IntN(500)
			if id, ok := model[k]; ok && rng.IntN(2) == 0 {
				if !sh.remove(id) {
					t.Fatalf("homes %d step %d: remove(%d) found no entry", homes, step, k)
				}
				delete(model, k)
			} else {
				id, created := sh.intern(k, hash(k))
				if created == ok || (ok && id != model[k]) {
					t.Fatalf("homes %d step %d: intern(%d) = %x, %v; had %x, %v", homes, step, k, id, created, model[k], ok)
				}
				model[k] = id
			}
			if sh.count != len(model) {
				t.Fatalf("homes %d step %d: count %d, want %d", homes, step, sh.count, len(model))
			}
			if step%97 == 0 {
				checkIndex(t, sh, model, hash)
			}
		}
		checkIndex(t, sh, model, hash)
		for k, id := range model {
			sh.remove(id)
			delete(model, k)
		}
		if sh.count != 0 || len(sh.cells) > minCells {
			t.Fatalf("homes %d: emptied shard keeps %d entries in %d cells", homes, sh.count, len(sh.cells))
		}
	}
}

func checkIndex(t *testing.T, sh *shard[int], model map[int]uint64, hash func(int) uint64) {
	t.Helper()
	for k := 0; k < 500; k++ {
		id, ok := sh.lookup(k, hash(k))
		want, has := model[k]
		if ok != has || id != want {
			t.Fatalf("lookup(%d) = %x, %v; want %x, %v", k, id, ok, want, has)
		}
		if ok {
			if key, found := sh.keyOf(id); !found || key != k {
				t.Fatalf("id %x of %d resolves to %d, %v", id, k, key, found)
			}
		}
	}
	if 2*sh.count > len(sh.cells) {
		t.Fatalf("%d entries in %d cells", sh.count, len(sh.cells))
	}
}
