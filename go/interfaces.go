package workqueue

import "time"

// TypedInterface is client-go's work queue interface: adds collapse, an
// item is never handed to two workers at once, Done hands an item added
// during its processing out again.
type TypedInterface[T comparable] interface {
	Add(item T)
	Len() int
	Get() (item T, shutdown bool)
	Done(item T)
	ShutDown()
	ShutDownWithDrain()
	ShuttingDown() bool
}

// TypedDelayingInterface is an Interface that can Add an item at a later
// time.
type TypedDelayingInterface[T comparable] interface {
	TypedInterface[T]
	// AddAfter adds an item to the workqueue after the indicated duration
	// has passed.
	AddAfter(item T, duration time.Duration)
}

// TypedRateLimitingInterface is an interface that rate limits items being
// added to the queue.
type TypedRateLimitingInterface[T comparable] interface {
	TypedDelayingInterface[T]

	// AddRateLimited adds an item to the workqueue after the rate limiter
	// says it's ok.
	AddRateLimited(item T)

	// Forget indicates that an item is finished being retried. Doesn't
	// matter whether it's for perm failing or for success, we'll stop the
	// rate limiter from tracking it. This only clears the rate limiter, you
	// still have to call Done on the queue.
	Forget(item T)

	// NumRequeues returns back how many times the item was requeued.
	NumRequeues(item T) int
}

// Compile-time checks: one queue type serves every interface.
var (
	_ TypedRateLimitingInterface[string] = (*Typed[string])(nil)
	_ TypedRateLimitingInterface[uint64] = (*RawQueue)(nil)
)
