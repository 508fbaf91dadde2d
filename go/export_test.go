package workqueue

import (
	"sync/atomic"

	"github.com/workqueue-project/workqueue/go/internal/release"
)

// Internals the external tests look at.

// LiveNativeObjects is the number of native objects not yet freed.
func LiveNativeObjects() int64 { return liveNative.Load() }

// LimiterTrackedKeys is the number of items a native limiter's interner
// holds (0 for limiters without one).
func LimiterTrackedKeys[T comparable](l TypedRateLimiter[T]) int {
	switch l := l.(type) {
	case *TypedItemExponentialFailureRateLimiter[T]:
		return l.trackedKeys()
	case *TypedItemFastSlowRateLimiter[T]:
		return l.trackedKeys()
	case *TypedMaxOfRateLimiter[T]:
		if l.native != nil {
			return l.native.trackedKeys()
		}
	}
	return 0
}

// HeaderVersion is the version of the header the package was built with.
func HeaderVersion() (major, minor, patch int) { return headerMajor, headerMinor, headerPatch }

// InternerEntries is every entry of q's interner, the idle entries of
// recently finished items included.
func InternerEntries[T comparable](q *Typed[T]) int { return q.ids.entries() }

// MaxIdleEntries bounds the idle entries of a queue's interner.
func MaxIdleEntries[T comparable](q *Typed[T]) int { return maxIdle * len(q.ids.shards) }

// Submitted counts the adds and dones q handed over through its
// submission ring.
func Submitted[T comparable](q *Typed[T]) uint64 { return q.h.submitted() }

// Stamped reports whether q's adds and dones go through a submission
// ring stamped with the time-stamp counter (a named queue where the
// library reads counter values).
func Stamped[T comparable](q *Typed[T]) bool { return q.h.sub != nil && q.h.sub.ring.stamped }

// RawSubmitted is Submitted for a RawQueue.
func RawSubmitted(q *RawQueue) uint64 { return q.h.submitted() }

// TakeRing takes q's submission ring as a producer that found no waiter
// would, and returns what then publishes an add of key through it: with
// no second look for waiters, as when that look was made before a getter
// counted itself.
func TakeRing(q *RawQueue) (publishAdd func(key uint64)) {
	s := q.h.sub
	tail, ok := s.take()
	if !ok {
		panic("the ring is held by another producer")
	}
	return func(key uint64) {
		r := s.ring
		if tail-atomic.LoadUint64(r.head) >= uint64(len(r.entries)) {
			panic("the ring is full")
		}
		r.entries[tail%uint64(len(r.entries))] = submission{key: key, op: submitAdd}
		release.StoreUint64(r.tail, tail+1) // as submit publishes
	}
}

// RingWaiters is the number of waiters the library counts in q's ring.
func RingWaiters(q *RawQueue) uint32 { return atomic.LoadUint32(q.h.sub.ring.waiters) }
