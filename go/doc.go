// Package workqueue is client-go's util/workqueue running in libworkqueue,
// the project's Rust core, through its C ABI.
//
// It is a drop-in for k8s.io/client-go/util/workqueue: Typed[T] satisfies
// TypedRateLimitingInterface[T], and the constructors, rate limiters and
// metrics-provider types have client-go's names, so a controller switches
// by changing its import (a config that sets Clock takes a *ManualClock).
//
//	queue := workqueue.NewTypedRateLimitingQueueWithConfig(
//		workqueue.DefaultTypedControllerRateLimiter[string](),
//		workqueue.TypedRateLimitingQueueConfig[string]{Name: "pods"})
//	defer queue.Close()
//
// Beyond client-go: TryAdd and friends report what they did, AddBatch /
// GetBatch / DoneBatch serve many items with one crossing into the
// library, DoneAndGet finishes an item and takes the next in one,
// GetWithContext waits without an OS thread and returns when its context
// ends, priorities (AddWithPriority, AddBatchWithPriority,
// GetWithPriority, LenByPriority, and controller-runtime's AddWithOpts), ManualClock drives every timing rule
// in tests, ParallelizeUntil / Parallelize and RunWorkers, a Semaphore,
// RawQueue, a queue of uint64 keys for the fastest path and for sharing a
// queue with C code, SchedulingQueue (kube-scheduler's scheduling queue),
// and metrics computed when read (Metrics, PrometheusText, the
// wqprometheus collector) besides client-go's MetricsProvider.
//
// Differences from client-go are the core's (see the project README):
// ShutDownWithDrain also waits for queued items, delayed items are dropped
// at shutdown, the exponential limiter never overflows, Done of an item
// that is not being processed changes nothing.
//
// Blocking: Get and ShutDownWithDrain wait inside the library and hold
// their OS thread meanwhile (the Go runtime starts other threads for other
// goroutines), so a thousand goroutines blocked in Get are a thousand
// threads; use GetWithContext for many idle waiters.
package workqueue

// Version is the version of the linked libworkqueue, e.g. "0.1.0".
func Version() string { return libraryVersion() }
