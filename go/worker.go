package workqueue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxRetries is the retry limit of client-go's sample controllers.
const DefaultMaxRetries = 5

// WorkerOptions configure RunWorkers.
type WorkerOptions[T comparable] struct {
	// Workers is the number of goroutines; 0 means 1.
	Workers int
	// MaxRetries is how many times a failing item is requeued with
	// AddRateLimited before it is dropped; 0 means DefaultMaxRetries, a
	// negative value never retries.
	MaxRetries int
	// OnDropped, if set, is told about an item given up on (counted
	// Dropped), with its last error. It runs on a worker goroutine.
	OnDropped func(item T, err error)
}

// WorkerReport counts what RunWorkers' workers did. Every handler run is
// counted in exactly one field: runs = Succeeded + Retried + Dropped +
// Abandoned.
type WorkerReport struct {
	Succeeded uint64 // handler returned nil; the item was forgotten
	Retried   uint64 // handler failed; the item was requeued with AddRateLimited
	Dropped   uint64 // handler failed MaxRetries+1 times (every time, with a negative MaxRetries); forgotten, told to OnDropped
	Abandoned uint64 // handler failed while the queue was shutting down, which refused the requeue; not forgotten, not told to OnDropped
}

// contextGetter is a queue whose Get can be cancelled.
type contextGetter[T comparable] interface {
	GetWithContext(ctx context.Context) (T, bool, error)
}

// reportingRequeuer is a queue that says whether a rate-limited add was
// accepted (it is not once the queue shuts down), deciding with the add.
type reportingRequeuer[T comparable] interface {
	TryAddRateLimited(item T) (time.Duration, bool)
}

// RunWorkers is the controller worker loop (client-go's
// processNextWorkItem) on opts.Workers goroutines: get an item, run
// handler, on success Forget it, on failure requeue it with AddRateLimited
// until it failed more than MaxRetries times, then Forget it and report it
// to OnDropped; then Done. A failure the queue refuses to requeue because
// it is shutting down is counted Abandoned (the item is neither forgotten
// nor reported: it was not given up on, the queue stopped), as in every
// binding. It
// returns when the queue is shut down and empty, or when ctx is done
// (items being handled are finished first). It does not shut the queue
// down.
//
// This package's queues say whether they accepted a requeue, deciding
// under the same lock as the shutdown, so a requeue is never counted in
// the wrong field. Another TypedRateLimitingInterface does not say: a
// failure is counted Abandoned when ShuttingDown reports true before the
// requeue (AddRateLimited is then not called), so a shutdown that comes
// during AddRateLimited is counted Retried.
//
// The loop is written in Go over the queue (no callbacks from library
// threads). A panic in handler is not recovered, as in any goroutine.
// With this package's queues the workers wait with GetWithContext; with
// another TypedRateLimitingInterface they wait in Get and notice ctx only
// when an item arrives or the queue shuts down.
func RunWorkers[T comparable](ctx context.Context, q TypedRateLimitingInterface[T], handler func(ctx context.Context, item T) error, opts WorkerOptions[T]) WorkerReport {
	workers := max(opts.Workers, 1)
	maxRetries := opts.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	var succeeded, retried, dropped, abandoned atomic.Uint64
	cg, cancellable := q.(contextGetter[T])
	rr, reporting := q.(reportingRequeuer[T])
	// requeue reports whether the queue accepted the retry.
	requeue := func(item T) bool {
		if reporting {
			_, ok := rr.TryAddRateLimited(item)
			return ok
		}
		if q.ShuttingDown() {
			return false
		}
		q.AddRateLimited(item)
		return true
	}
	next := func() (T, bool) {
		if cancellable {
			item, shutdown, err := cg.GetWithContext(ctx)
			return item, shutdown || err != nil
		}
		item, shutdown := q.Get()
		return item, shutdown
	}
	dg, fused := q.(doneTryGetter[T])
	work := func() {
		var item T
		have := false // item came with the last Done
		for {
			if !have {
				if ctx.Err() != nil {
					return
				}
				var stop bool
				if item, stop = next(); stop {
					return
				}
			}
			if err := handler(ctx, item); err == nil {
				q.Forget(item)
				succeeded.Add(1)
			} else if outOfRetries := maxRetries <= 0 || q.NumRequeues(item) >= maxRetries; !outOfRetries && requeue(item) {
				retried.Add(1)
			} else if !outOfRetries {
				// The queue is shutting down and took no retry: the run is
				// abandoned (the item is not given up on: its history stays).
				abandoned.Add(1)
			} else {
				dropped.Add(1)
				q.Forget(item)
				if opts.OnDropped != nil {
					opts.OnDropped(item, err)
				}
			}
			if fused && ctx.Err() == nil {
				// Done, and the next ready item, in one call.
				var shutdown bool
				if item, have, shutdown = dg.doneTryGet(item); shutdown {
					return
				}
			} else {
				q.Done(item)
				have = false
			}
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return WorkerReport{Succeeded: succeeded.Load(), Retried: retried.Load(), Dropped: dropped.Load(), Abandoned: abandoned.Load()}
}
