package workqueue_test

import (
	clientgo "k8s.io/client-go/util/workqueue"

	"github.com/workqueue-project/workqueue/go"
)

// The drop-in promise, checked by the compiler: this package's queues
// satisfy client-go's interfaces, and limiters of either package fit the
// other's queues.
var (
	_ clientgo.TypedRateLimitingInterface[string] = (*workqueue.Typed[string])(nil)
	_ clientgo.TypedRateLimitingInterface[uint64] = (*workqueue.RawQueue)(nil)
	_ clientgo.RateLimitingInterface              = (*workqueue.Type)(nil)
	_ clientgo.TypedDelayingInterface[string]     = (*workqueue.Typed[string])(nil)
	_ clientgo.TypedInterface[string]             = (*workqueue.Typed[string])(nil)

	_ clientgo.TypedRateLimiter[string]  = (*workqueue.TypedMaxOfRateLimiter[string])(nil)
	_ clientgo.TypedRateLimiter[string]  = (*workqueue.TypedItemExponentialFailureRateLimiter[string])(nil)
	_ clientgo.TypedRateLimiter[string]  = (*workqueue.TypedItemFastSlowRateLimiter[string])(nil)
	_ clientgo.TypedRateLimiter[string]  = (*workqueue.TypedWithMaxWaitRateLimiter[string])(nil)
	_ clientgo.TypedRateLimiter[string]  = (*workqueue.TypedBucketRateLimiter[string])(nil)
	_ workqueue.TypedRateLimiter[string] = (*clientgo.TypedMaxOfRateLimiter[string])(nil)

	// Constructors return what client-go's return, or more.
	_ func(clientgo.TypedRateLimiter[string]) clientgo.TypedRateLimitingInterface[string] = func(rl clientgo.TypedRateLimiter[string]) clientgo.TypedRateLimitingInterface[string] {
		return workqueue.NewTypedRateLimitingQueue[string](rl)
	}
)
