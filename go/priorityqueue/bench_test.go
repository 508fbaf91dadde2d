package priorityqueue_test

import (
	"container/heap"
	"strconv"
	"testing"

	crpq "sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"github.com/workqueue-project/workqueue/go"
	"github.com/workqueue-project/workqueue/go/priorityqueue"
)

// BenchmarkPriority: priority get/pop throughput. Rounds of 100,000 keys
// over 16 priority levels: every key added (priority key%16), then every
// key taken, highest priority first, and done. b.N counts keys; ns/op is
// per key (add + get + done). In the same run:
//
//   workqueue:          workqueue.Typed / RawQueue (AddWithPriority,
//                       GetWithPriority, Done)
//   squeue:             workqueue.SchedulingQueue / RawSchedulingQueue (Add,
//                       Pop, Done)
//   workqueue-cr:       the controller-runtime adapter of this module
//                       (AddWithOpts, GetWithPriority, Done)
//   heap:               container/heap of (priority, arrival) pairs, no
//                       de-duplication, no locks: the floor
//   controller-runtime: controller-runtime's priorityqueue (unnamed: no
//                       metrics, as the others)
//
// `make bench-go` prints the ratios (internal/benchratio): the reference's
// time / the variant's, above 1 is faster.

const (
	roundKeys = 100_000
	levels    = 16
)

type pqueue[T comparable] struct {
	add  func(T, int)
	get  func() (T, int)
	done func(T)
}

func rounds[T comparable](b *testing.B, keys []T, q pqueue[T]) {
	b.ReportAllocs()
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += roundKeys {
		n := min(roundKeys, b.N-lo)
		for i := 0; i < n; i++ {
			q.add(keys[i], i%levels)
		}
		last := levels
		for i := 0; i < n; i++ {
			k, p := q.get()
			if p > last {
				b.Fatalf("priority %d after %d", p, last)
			}
			last = p
			q.done(k)
		}
	}
}

func stringKeys() []string {
	keys := make([]string, roundKeys)
	for i := range keys {
		keys[i] = "namespace-" + strconv.Itoa(i%97) + "/object-" + strconv.Itoa(i)
	}
	return keys
}

func uintKeys() []uint64 {
	keys := make([]uint64, roundKeys)
	for i := range keys {
		keys[i] = uint64(i)
	}
	return keys
}

// heapQueue is the baseline: a binary heap, highest priority first, FIFO
// within a priority.
type entry[T any] struct {
	key  T
	prio int
	seq  uint64
}

type heapQueue[T any] struct {
	items []entry[T]
	seq   uint64
}

func (h *heapQueue[T]) Len() int { return len(h.items) }
func (h *heapQueue[T]) Less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return a.seq < b.seq
}
func (h *heapQueue[T]) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *heapQueue[T]) Push(x any)    { h.items = append(h.items, x.(entry[T])) }
func (h *heapQueue[T]) Pop() any {
	e := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return e
}

func heapOf[T comparable]() pqueue[T] {
	h := &heapQueue[T]{}
	return pqueue[T]{
		add: func(k T, p int) {
			h.seq++
			heap.Push(h, entry[T]{k, p, h.seq})
		},
		get: func() (T, int) {
			e := heap.Pop(h).(entry[T])
			return e.key, e.prio
		},
		done: func(T) {},
	}
}

func typedOf[T comparable](q *workqueue.Typed[T]) pqueue[T] {
	return pqueue[T]{
		add: q.AddWithPriority,
		get: func() (T, int) {
			k, p, _ := q.GetWithPriority()
			return k, p
		},
		done: q.Done,
	}
}

func crOf[T comparable](q crpq.PriorityQueue[T]) pqueue[T] {
	return pqueue[T]{
		add: func(k T, p int) { q.AddWithOpts(crpq.AddOpts{Priority: &p}, k) },
		get: func() (T, int) {
			k, p, _ := q.GetWithPriority()
			return k, p
		},
		done: q.Done,
	}
}

func BenchmarkPriority(b *testing.B) {
	strs, uints := stringKeys(), uintKeys()
	b.Run("string/heap", func(b *testing.B) { rounds(b, strs, heapOf[string]()) })
	b.Run("string/workqueue", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		rounds(b, strs, typedOf(q))
	})
	b.Run("string/workqueue-cr", func(b *testing.B) {
		q := priorityqueue.NewQueue[string]("", 0)
		defer q.Close()
		rounds(b, strs, crOf[string](q))
	})
	b.Run("string/squeue", func(b *testing.B) {
		q, _ := workqueue.NewSchedulingQueue[string](workqueue.SchedulingQueueConfig{})
		defer q.Close()
		rounds(b, strs, pqueue[string]{
			add: func(k string, p int) { q.Add(k, p) },
			get: func() (string, int) {
				k, p, _ := q.Pop()
				return k, p
			},
			done: func(k string) { q.Done(k) },
		})
	})
	b.Run("string/controller-runtime", func(b *testing.B) {
		q := crpq.New[string]("")
		defer q.ShutDown()
		rounds(b, strs, crOf(q))
	})
	b.Run("uint64/heap", func(b *testing.B) { rounds(b, uints, heapOf[uint64]()) })
	b.Run("uint64/workqueue-raw", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		rounds(b, uints, pqueue[uint64]{
			add: q.AddWithPriority,
			get: func() (uint64, int) {
				k, p, _ := q.GetWithPriority()
				return k, p
			},
			done: q.Done,
		})
	})
	b.Run("uint64/squeue-raw", func(b *testing.B) {
		q, _ := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{})
		defer q.Close()
		rounds(b, uints, pqueue[uint64]{
			add: func(k uint64, p int) { q.Add(k, p) },
			get: func() (uint64, int) {
				k, p, _ := q.Pop()
				return k, p
			},
			done: func(k uint64) { q.Done(k) },
		})
	})
	b.Run("uint64/controller-runtime", func(b *testing.B) {
		q := crpq.New[uint64]("")
		defer q.ShutDown()
		rounds(b, uints, crOf(q))
	})
}
