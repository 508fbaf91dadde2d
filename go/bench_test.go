package workqueue_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientgo "k8s.io/client-go/util/workqueue"

	"github.com/workqueue-project/workqueue/go"
)

// Benchmarks against client-go's own queue (the version in go.mod), in
// the same run. Every benchmark reports ns per key; `make bench-go` prints
// the ratios (client-go time / this package's time: above 1 is faster).
//
//   PerKey:     one goroutine, Add → Get → Done per key, 100 rotating keys
//               (client-go's BenchmarkQueue); the -donegets variants do
//               the same with DoneAndGet (Done and the next Get in one
//               call into the library)
//   Contended:  2 producers Add distinct keys, 2 consumers Get → Done
//               (-donegets: consumers loop on DoneAndGet)
//   Batch:      AddBatch → GetBatch → DoneBatch, 256 keys a call (client-go
//               has no batch calls: it runs its per-key loop)

// basicQueue is what the per-key benchmarks drive.
type basicQueue[T comparable] interface {
	Add(T)
	Get() (T, bool)
	Done(T)
	ShutDown()
}

func stringKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "namespace-" + strconv.Itoa(i%97) + "/object-" + strconv.Itoa(i)
	}
	return keys
}

func uintKeys(n int) []uint64 {
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = uint64(i)
	}
	return keys
}

func perKey[T comparable](b *testing.B, q basicQueue[T], keys []T) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%len(keys)]
		q.Add(k)
		got, _ := q.Get()
		q.Done(got)
	}
	b.StopTimer()
	q.ShutDown()
}

// doneGetter is a queue with DoneAndGet.
type doneGetter[T comparable] interface {
	basicQueue[T]
	DoneAndGet(T) (T, bool)
}

// perKeyDoneGets is perKey with the Done of each key and the Get of the
// next in one DoneAndGet: per key still one Add, one get and one Done.
func perKeyDoneGets[T comparable](b *testing.B, q doneGetter[T], keys []T) {
	b.ReportAllocs()
	b.ResetTimer()
	q.Add(keys[0])
	got, _ := q.Get()
	for i := 1; i <= b.N; i++ {
		q.Add(keys[i%len(keys)])
		got, _ = q.DoneAndGet(got)
	}
	q.Done(got)
	b.StopTimer()
	q.ShutDown()
}

func BenchmarkPerKey(b *testing.B) {
	strs := stringKeys(100)
	uints := uintKeys(100)
	b.Run("string/client-go", func(b *testing.B) {
		perKey[string](b, clientgo.NewTyped[string](), strs)
	})
	b.Run("string/workqueue", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		perKey[string](b, q, strs)
	})
	b.Run("string/workqueue-donegets", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		perKeyDoneGets[string](b, q, strs)
	})
	b.Run("uint64/client-go", func(b *testing.B) {
		perKey[uint64](b, clientgo.NewTyped[uint64](), uints)
	})
	b.Run("uint64/workqueue-raw", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		perKey[uint64](b, q, uints)
	})
	b.Run("uint64/workqueue-raw-donegets", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		perKeyDoneGets[uint64](b, q, uints)
	})
}

// perRound is how many keys one round of BenchmarkPerKeyInterleaved
// cycles.
const perRound = 100_000

// round is one round of PerKey's cycle on q over keys.
func round[T comparable](q basicQueue[T], keys []T) func() {
	return func() {
		for i := 0; i < perRound; i++ {
			q.Add(keys[i%len(keys)])
			got, _ := q.Get()
			q.Done(got)
		}
	}
}

// BenchmarkPerKeyInterleaved runs PerKey's cycle on each queue in turn, in
// rounds of 100,000 keys, b.N rounds each, and reports every queue's
// fastest round (ns/key) and the ratios to client-go (client-go's time /
// this package's). On a shared machine consecutive samples of one
// benchmark share its mood; queues taking turns do not.
func BenchmarkPerKeyInterleaved(b *testing.B) {
	strs, uints := stringKeys(100), uintKeys(100)
	typed, raw := workqueue.NewTyped[string](), workqueue.NewRawQueue()
	defer typed.Close()
	defer raw.Close()
	perKey := interleave(b, []variant{
		{name: "string/client-go", run: round[string](clientgo.NewTyped[string](), strs)},
		{name: "string/workqueue", run: round[string](typed, strs)},
		{name: "uint64/client-go", run: round[uint64](clientgo.NewTyped[uint64](), uints)},
		{name: "uint64/workqueue-raw", run: round[uint64](raw, uints)},
	})
	b.ReportMetric(perKey[0]/perKey[1], "string-ratio")
	b.ReportMetric(perKey[2]/perKey[3], "uint64-ratio")
}

// variant is one queue's round in an interleaved benchmark.
type variant struct {
	name string
	run  func()
}

// interleave runs each variant's round in turn, b.N times, reports each
// one's fastest round in ns per key, and returns those figures.
func interleave(b *testing.B, variants []variant) []float64 {
	best := make([]time.Duration, len(variants))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, v := range variants {
			start := time.Now()
			v.run()
			if took := time.Since(start); n == 0 || took < best[i] {
				best[i] = took
			}
		}
	}
	perKey := make([]float64, len(variants))
	for i, v := range variants {
		perKey[i] = float64(best[i].Nanoseconds()) / perRound
		b.ReportMetric(perKey[i], v.name+"-ns/key")
	}
	return perKey
}

// contended: 2 producers add b.N distinct keys between them; 2 consumers
// get and done until every key was processed.
func contended[T comparable](b *testing.B, q basicQueue[T], keys []T) {
	const producers, consumers = 2, 2
	var processed atomic.Int64
	total := int64(len(keys))
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				q.Done(k)
				if processed.Add(1) == total {
					q.ShutDown()
				}
			}
		}()
	}
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < len(keys); i += producers {
				q.Add(keys[i])
			}
		}(p)
	}
	wg.Wait()
	b.StopTimer()
}

// contendedDoneGets is contended with consumers looping on DoneAndGet.
func contendedDoneGets[T comparable](b *testing.B, q doneGetter[T], keys []T) {
	const producers, consumers = 2, 2
	var processed atomic.Int64
	total := int64(len(keys))
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, shutdown := q.Get()
			for !shutdown {
				if processed.Add(1) == total {
					q.Done(k)
					q.ShutDown()
					k, shutdown = q.Get()
					continue
				}
				k, shutdown = q.DoneAndGet(k)
			}
		}()
	}
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < len(keys); i += producers {
				q.Add(keys[i])
			}
		}(p)
	}
	wg.Wait()
	b.StopTimer()
}

func BenchmarkContended(b *testing.B) {
	b.Run("string/client-go", func(b *testing.B) {
		contended[string](b, clientgo.NewTyped[string](), stringKeys(b.N))
	})
	b.Run("string/workqueue", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		contended[string](b, q, stringKeys(b.N))
	})
	b.Run("string/workqueue-donegets", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		contendedDoneGets[string](b, q, stringKeys(b.N))
	})
	b.Run("uint64/client-go", func(b *testing.B) {
		contended[uint64](b, clientgo.NewTyped[uint64](), uintKeys(b.N))
	})
	b.Run("uint64/workqueue-raw", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		contended[uint64](b, q, uintKeys(b.N))
	})
	b.Run("uint64/workqueue-raw-donegets", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		contendedDoneGets[uint64](b, q, uintKeys(b.N))
	})
}

const batchSize = 256

// batchLoop runs one round of batch (add, get, done) per batchSize keys;
// b.N counts keys.
func batchLoop(b *testing.B, round func(lo, hi int)) {
	b.ReportAllocs()
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += batchSize {
		round(lo, min(lo+batchSize, b.N))
	}
}

// batchWindow is the keys of the round [lo, hi): one of four windows of
// batchSize keys, in turn.
func batchWindow[T any](keys []T, lo, hi int) []T {
	return keys[(lo/batchSize%4)*batchSize:][:hi-lo]
}

// clientGoBatch is the client-go baseline of BenchmarkBatch: each round
// adds its keys one by one, then gets and finishes them one by one.
func clientGoBatch[T comparable](all []T) func(*testing.B) {
	return func(b *testing.B) {
		q := clientgo.NewTyped[T]()
		defer q.ShutDown()
		batchLoop(b, func(lo, hi int) {
			keys := batchWindow(all, lo, hi)
			for _, k := range keys {
				q.Add(k)
			}
			for range keys {
				k, _ := q.Get()
				q.Done(k)
			}
		})
	}
}

func BenchmarkBatch(b *testing.B) {
	strs := stringKeys(batchSize * 4)
	uints := uintKeys(batchSize * 4)
	b.Run("string/client-go", clientGoBatch(strs))
	b.Run("string/workqueue", func(b *testing.B) {
		q := workqueue.NewTyped[string]()
		defer q.Close()
		buf := make([]string, 0, batchSize)
		batchLoop(b, func(lo, hi int) {
			keys := batchWindow(strs, lo, hi)
			q.AddBatch(keys)
			got, _ := q.AppendGetBatch(buf[:0], len(keys))
			q.DoneBatch(got)
		})
	})
	b.Run("uint64/client-go", clientGoBatch(uints))
	b.Run("uint64/workqueue-raw", func(b *testing.B) {
		q := workqueue.NewRawQueue()
		defer q.Close()
		buf := make([]uint64, batchSize)
		batchLoop(b, func(lo, hi int) {
			keys := batchWindow(uints, lo, hi)
			q.AddBatch(keys)
			n, _ := q.GetBatch(buf[:len(keys)])
			q.DoneBatch(buf[:n])
		})
	})
}
