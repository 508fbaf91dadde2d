// Package priorityqueue is controller-runtime's
// sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue running in
// libworkqueue: New returns controller-runtime's PriorityQueue interface,
// backed by a workqueue.Typed queue (the library's priorities: highest
// first, FIFO within a priority, re-adds keep the highest priority and
// the earliest ready time, optional aging).
//
// It is its own module, so that the workqueue module does not depend on
// controller-runtime. The types are controller-runtime's own (aliases), so
// a controller switches by changing the import:
//
//	-import "sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
//	+import "github.com/workqueue-project/workqueue/go/priorityqueue"
//
// and controller-runtime, which checks whether a controller's queue is a
// priorityqueue.PriorityQueue, finds that it is:
//
//	controller.Options[reconcile.Request]{
//		NewQueue: func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
//			return priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) { o.RateLimiter = rl })
//		},
//	}
//
// What differs from controller-runtime's queue is the library's semantics
// where they are client-go's: a Get after ShutDown still hands out the
// items queued before it (controller-runtime reports shutdown at once),
// ShutDownWithDrain waits for them, and Len counts ready items only (as
// controller-runtime's does). Opts.Log is not used; without
// Opts.MetricProvider the queue feeds the provider given to
// workqueue.SetProvider, if any, and the library keeps its own metrics
// (workqueue.PrometheusText, the wqprometheus collector) either way.
package priorityqueue

import (
	"time"

	crpq "sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"github.com/workqueue-project/workqueue/go"
)

// controller-runtime's types.
type (
	// AddOpts are the options of AddWithOpts.
	AddOpts = crpq.AddOpts
	// PriorityQueue is a rate-limiting queue with priorities.
	PriorityQueue[T comparable] = crpq.PriorityQueue[T]
	// Opts configure New.
	Opts[T comparable] = crpq.Opts[T]
	// Opt is a function that changes Opts.
	Opt[T comparable] = crpq.Opt[T]
)

// Queue is a workqueue.Typed with controller-runtime's AddWithOpts. Its
// other methods are Typed's (GetWithPriority, LenByPriority, Close, ...).
type Queue[T comparable] struct {
	*workqueue.Typed[T]
}

// The compile-time proof: the queue is controller-runtime's PriorityQueue,
// and controller-runtime's AddOpts converts to this package's field for
// field.
var _ PriorityQueue[string] = Queue[string]{}

// AddWithOpts adds items after o.After and/or the rate limiter's delay (the
// smaller), at o.Priority (nil: 0).
func (q Queue[T]) AddWithOpts(o AddOpts, items ...T) {
	q.Typed.AddWithOpts(workqueue.AddOpts(o), items...)
}

// New returns a priority queue named name (the name label of its metrics)
// with controller-runtime's defaults: a per-item exponential limiter from
// 5 ms to 1000 s unless o sets RateLimiter.
func New[T comparable](name string, o ...Opt[T]) PriorityQueue[T] {
	return NewQueue(name, 0, o...)
}

// NewQueue is New returning the Queue, with priority aging (see
// workqueue.TypedQueueConfig.PriorityAging; 0 is strict priority, as
// controller-runtime's).
func NewQueue[T comparable](name string, aging time.Duration, o ...Opt[T]) Queue[T] {
	opts := &Opts[T]{}
	for _, f := range o {
		f(opts)
	}
	var rl workqueue.TypedRateLimiter[T] = opts.RateLimiter
	if opts.RateLimiter == nil {
		rl = workqueue.NewTypedItemExponentialFailureRateLimiter[T](5*time.Millisecond, 1000*time.Second)
	}
	return Queue[T]{workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[T]{
		Name:            name,
		MetricsProvider: opts.MetricProvider,
		PriorityAging:   aging,
	})}
}
