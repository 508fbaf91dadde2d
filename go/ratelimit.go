package workqueue

import (
	"math"
	"runtime"
	"time"

	"golang.org/x/time/rate"
)

// TypedRateLimiter decides how long a failed item waits before its retry;
// the same interface as client-go's, so limiters written for client-go
// work here unchanged.
type TypedRateLimiter[T comparable] interface {
	// When gets an item and gets to decide how long that item should wait.
	When(item T) time.Duration
	// Forget indicates that an item is finished being retried. Doesn't
	// matter whether it's for failing or for success, we'll stop tracking it.
	Forget(item T)
	// NumRequeues returns back how many failures the item has had.
	NumRequeues(item T) int
}

// ClockedRateLimiter is implemented by this package's limiters: When on a
// given clock (a nil clock is the real one). A queue built on a
// ManualClock asks its limiter through it, so token buckets follow the
// manual clock too; limiters without it are asked with When.
type ClockedRateLimiter[T comparable] interface {
	TypedRateLimiter[T]
	WhenWithClock(item T, clock *ManualClock) time.Duration
}

// nativeHandle is implemented by limiters that are one native limiter
// whose keys are the items themselves (uint64 items, or a limiter that
// does not tell items apart): a RawQueue hands such a limiter to the
// library, and native composites are built over them.
type nativeHandle interface {
	cHandle() *cLimiter
}

// whenOn asks l about item on clock.
func whenOn[T comparable](l TypedRateLimiter[T], item T, clock *ManualClock) time.Duration {
	if clock != nil {
		if cl, ok := l.(ClockedRateLimiter[T]); ok {
			return cl.WhenWithClock(item, clock)
		}
	}
	return l.When(item)
}

// ---- native limiters ----------------------------------------------------

// nativeLimiter is a limiter of libworkqueue. Items map to the library's
// uint64 keys through an interner (unless the items are uint64, or the
// limiter does not tell items apart): an item has an entry from its first
// When until Forget, and entries the library has forgotten on its own
// (its per-key tables are bounded) are swept when a shard doubles.
type nativeLimiter[T comparable] struct {
	c     *cLimiter
	ids   *interner[T] // nil: the key is the item (uint64) or 0 (unkeyed)
	keyed bool         // the limiter tells items apart
}

func newNativeLimiter[T comparable](c *cLimiter, st status, op string, keyed bool) *nativeLimiter[T] {
	check(op, st)
	n := &nativeLimiter[T]{c: c, keyed: keyed}
	if keyed && !isUint64[T]() {
		n.ids = newInterner[T]()
	}
	runtime.AddCleanup(n, func(o *cOwner) { o.release() }, owned(func() { limiterFree(c) }))
	return n
}

func (n *nativeLimiter[T]) rawKey(item *T) uint64 {
	if n.keyed {
		return asUint64(item)
	}
	return 0
}

func (n *nativeLimiter[T]) cHandle() *cLimiter {
	if n.ids == nil {
		return n.c
	}
	return nil
}

// When counts one more failure of item and returns its delay.
func (n *nativeLimiter[T]) When(item T) time.Duration { return n.WhenWithClock(item, nil) }

// WhenWithClock is When on clock (nil: the real clock); only token
// buckets read the clock.
func (n *nativeLimiter[T]) WhenWithClock(item T, clock *ManualClock) time.Duration {
	if n.ids == nil {
		d, st := limiterWhen(n.c, clock.cptr(), n.rawKey(&item))
		check("wq_rate_limiter_when", st)
		runtime.KeepAlive(n)
		runtime.KeepAlive(clock)
		return d
	}
	sh, hash := n.ids.shardOf(item)
	sh.mu.Lock()
	id, _ := sh.intern(item, hash)
	d, st := limiterWhen(n.c, clock.cptr(), id)
	if sh.count >= sh.sweep {
		n.sweepLocked(sh)
	}
	sh.mu.Unlock()
	check("wq_rate_limiter_when", st)
	runtime.KeepAlive(n)
	runtime.KeepAlive(clock)
	return d
}

// sweepLocked drops the entries the library no longer tracks.
func (n *nativeLimiter[T]) sweepLocked(sh *shard[T]) {
	for _, id := range sh.ids(nil) {
		if count, st := limiterNumRequeues(n.c, id); st == stOK && count == 0 {
			sh.remove(id)
		}
	}
	sh.sweep = max(2*sh.count, minSweep)
}

// Forget stops tracking item.
func (n *nativeLimiter[T]) Forget(item T) {
	if n.ids == nil {
		check("wq_rate_limiter_forget", limiterForget(n.c, n.rawKey(&item)))
		runtime.KeepAlive(n)
		return
	}
	sh, hash := n.ids.shardOf(item)
	sh.mu.Lock()
	if id, ok := sh.lookup(item, hash); ok {
		st := limiterForget(n.c, id)
		sh.remove(id)
		sh.mu.Unlock()
		check("wq_rate_limiter_forget", st)
	} else {
		sh.mu.Unlock()
	}
	runtime.KeepAlive(n)
}

// NumRequeues is how many failures of item the limiter tracks.
func (n *nativeLimiter[T]) NumRequeues(item T) int {
	if n.ids == nil {
		count, st := limiterNumRequeues(n.c, n.rawKey(&item))
		check("wq_rate_limiter_num_requeues", st)
		runtime.KeepAlive(n)
		return count
	}
	sh, hash := n.ids.shardOf(item)
	sh.mu.Lock()
	count := 0
	var st status
	if id, ok := sh.lookup(item, hash); ok {
		count, st = limiterNumRequeues(n.c, id)
		if st == stOK && count == 0 {
			sh.remove(id) // the library forgot it on its own
		}
	}
	sh.mu.Unlock()
	runtime.KeepAlive(n)
	if st != stOK {
		check("wq_rate_limiter_num_requeues", st)
	}
	return count
}

// trackedKeys is the number of interned items (0 when items are keys).
func (n *nativeLimiter[T]) trackedKeys() int {
	if n.ids == nil {
		return 0
	}
	return n.ids.len()
}

// TypedItemExponentialFailureRateLimiter waits baseDelay*2^failures for
// an item, never more than maxDelay, and never overflows: after any number
// of failures the delay is exactly maxDelay. Its state lives in
// libworkqueue.
type TypedItemExponentialFailureRateLimiter[T comparable] struct {
	*nativeLimiter[T]
}

// NewTypedItemExponentialFailureRateLimiter is client-go's limiter of the
// same name: the n-th failure of an item (from 0) waits baseDelay*2^n,
// capped at maxDelay.
func NewTypedItemExponentialFailureRateLimiter[T comparable](baseDelay, maxDelay time.Duration) TypedRateLimiter[T] {
	switch {
	case baseDelay <= 0:
		// client-go: every delay is 0 (or maxDelay when that is negative).
		c, st := limiterNewFastSlow(0, 0, 0)
		return &TypedItemExponentialFailureRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_fast_slow", true)}
	case maxDelay < baseDelay:
		// client-go: every delay is maxDelay.
		c, st := limiterNewFastSlow(nanos(maxDelay), nanos(maxDelay), 0)
		return &TypedItemExponentialFailureRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_fast_slow", true)}
	}
	c, st := limiterNewExponential(nanos(baseDelay), nanos(maxDelay))
	return &TypedItemExponentialFailureRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_exponential", true)}
}

// DefaultTypedItemBasedRateLimiter is per-item exponential backoff from
// 1 ms to 1000 s.
func DefaultTypedItemBasedRateLimiter[T comparable]() TypedRateLimiter[T] {
	c, st := limiterNewDefaultItem()
	return &TypedItemExponentialFailureRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_default_item", true)}
}

// TypedItemFastSlowRateLimiter retries an item quickly for a number of
// attempts, then slowly.
type TypedItemFastSlowRateLimiter[T comparable] struct {
	*nativeLimiter[T]
}

// NewTypedItemFastSlowRateLimiter is client-go's limiter of the same name:
// the first maxFastAttempts failures of an item wait fastDelay, later ones
// slowDelay.
func NewTypedItemFastSlowRateLimiter[T comparable](fastDelay, slowDelay time.Duration, maxFastAttempts int) TypedRateLimiter[T] {
	attempts := uint32(0)
	if maxFastAttempts > 0 {
		attempts = uint32(min(maxFastAttempts, math.MaxUint32))
	}
	c, st := limiterNewFastSlow(nanos(fastDelay), nanos(slowDelay), attempts)
	return &TypedItemFastSlowRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_fast_slow", true)}
}

// TypedTokenBucketRateLimiter is a token bucket in libworkqueue: it starts
// full with burst tokens and refills at qps tokens a second; each When
// takes a token, waiting for the next one if none is left. Items are not
// told apart. It follows a queue's ManualClock (see ClockedRateLimiter).
type TypedTokenBucketRateLimiter[T comparable] struct {
	*nativeLimiter[T]
}

// NewTypedTokenBucketRateLimiter returns a token bucket of qps tokens a
// second and burst tokens. It panics if qps is not a positive finite
// number or burst is not positive.
func NewTypedTokenBucketRateLimiter[T comparable](qps float64, burst int) TypedRateLimiter[T] {
	if burst < 1 || burst > math.MaxUint32 {
		panic(statusError("wq_rate_limiter_new_token_bucket", stInvalidArgument))
	}
	c, st := limiterNewTokenBucket(qps, uint32(burst))
	return &TypedTokenBucketRateLimiter[T]{newNativeLimiter[T](c, st, "wq_rate_limiter_new_token_bucket", false)}
}

// ---- composites -----------------------------------------------------------

// TypedMaxOfRateLimiter asks every member and returns the longest delay;
// NumRequeues is the largest count; Forget reaches every member.
//
// Over uint64 items, with members that are all this package's limiters,
// it is one native limiter (a RawQueue then runs it inside the library);
// otherwise it calls its members from Go, like client-go's.
type TypedMaxOfRateLimiter[T comparable] struct {
	native   *nativeLimiter[T]
	limiters []TypedRateLimiter[T]
}

// NewTypedMaxOfRateLimiter is client-go's limiter of the same name.
func NewTypedMaxOfRateLimiter[T comparable](limiters ...TypedRateLimiter[T]) TypedRateLimiter[T] {
	r := &TypedMaxOfRateLimiter[T]{limiters: limiters}
	if handles := nativeHandles(limiters); handles != nil {
		c, st := limiterNewMaxOf(handles)
		// Members' keys are the items (uint64), or no member tells items apart.
		r.native = newNativeLimiter[T](c, st, "wq_rate_limiter_new_max_of", isUint64[T]())
		runtime.KeepAlive(limiters)
	}
	return r
}

// DefaultTypedControllerRateLimiter is client-go's default for
// controllers: the larger of a per-item exponential backoff from 5 ms to
// 1000 s and a token bucket of 10 items/s with a burst of 100. It is one
// native limiter.
func DefaultTypedControllerRateLimiter[T comparable]() TypedRateLimiter[T] {
	c, st := limiterNewDefaultController()
	return &TypedMaxOfRateLimiter[T]{native: newNativeLimiter[T](c, st, "wq_rate_limiter_new_default_controller", true)}
}

// nativeHandles returns the native limiters behind members, or nil unless
// every member is one whose keys are the items.
func nativeHandles[T comparable](members []TypedRateLimiter[T]) []*cLimiter {
	if len(members) == 0 {
		return nil
	}
	handles := make([]*cLimiter, len(members))
	for i, m := range members {
		nh, ok := m.(nativeHandle)
		if !ok {
			return nil
		}
		if handles[i] = nh.cHandle(); handles[i] == nil {
			return nil
		}
	}
	return handles
}

func (r *TypedMaxOfRateLimiter[T]) cHandle() *cLimiter {
	if r.native != nil {
		return r.native.cHandle()
	}
	return nil
}

// When asks every member and returns the longest delay.
func (r *TypedMaxOfRateLimiter[T]) When(item T) time.Duration { return r.WhenWithClock(item, nil) }

// WhenWithClock is When on clock.
func (r *TypedMaxOfRateLimiter[T]) WhenWithClock(item T, clock *ManualClock) time.Duration {
	if r.native != nil {
		return r.native.WhenWithClock(item, clock)
	}
	longest := time.Duration(0)
	for _, l := range r.limiters {
		longest = max(longest, whenOn(l, item, clock))
	}
	return longest
}

// NumRequeues is the largest count of the members.
func (r *TypedMaxOfRateLimiter[T]) NumRequeues(item T) int {
	if r.native != nil {
		return r.native.NumRequeues(item)
	}
	most := 0
	for _, l := range r.limiters {
		most = max(most, l.NumRequeues(item))
	}
	return most
}

// Forget forgets item in every member.
func (r *TypedMaxOfRateLimiter[T]) Forget(item T) {
	if r.native != nil {
		r.native.Forget(item)
		return
	}
	for _, l := range r.limiters {
		l.Forget(item)
	}
}

// TypedWithMaxWaitRateLimiter caps another limiter's delay at maxDelay.
type TypedWithMaxWaitRateLimiter[T comparable] struct {
	native   *nativeLimiter[T]
	limiter  TypedRateLimiter[T]
	maxDelay time.Duration
}

// NewTypedWithMaxWaitRateLimiter is client-go's limiter of the same name.
func NewTypedWithMaxWaitRateLimiter[T comparable](limiter TypedRateLimiter[T], maxDelay time.Duration) TypedRateLimiter[T] {
	r := &TypedWithMaxWaitRateLimiter[T]{limiter: limiter, maxDelay: maxDelay}
	if handles := nativeHandles([]TypedRateLimiter[T]{limiter}); handles != nil && maxDelay >= 0 {
		c, st := limiterNewMaxWait(handles[0], nanos(maxDelay))
		r.native = newNativeLimiter[T](c, st, "wq_rate_limiter_new_max_wait", isUint64[T]())
		runtime.KeepAlive(limiter)
	}
	return r
}

func (r *TypedWithMaxWaitRateLimiter[T]) cHandle() *cLimiter {
	if r.native != nil {
		return r.native.cHandle()
	}
	return nil
}

// When is the inner limiter's delay, at most maxDelay.
func (r *TypedWithMaxWaitRateLimiter[T]) When(item T) time.Duration {
	return r.WhenWithClock(item, nil)
}

// WhenWithClock is When on clock.
func (r *TypedWithMaxWaitRateLimiter[T]) WhenWithClock(item T, clock *ManualClock) time.Duration {
	if r.native != nil {
		return r.native.WhenWithClock(item, clock)
	}
	return min(whenOn(r.limiter, item, clock), r.maxDelay)
}

// Forget forgets item in the inner limiter.
func (r *TypedWithMaxWaitRateLimiter[T]) Forget(item T) {
	if r.native != nil {
		r.native.Forget(item)
		return
	}
	r.limiter.Forget(item)
}

// NumRequeues is the inner limiter's count.
func (r *TypedWithMaxWaitRateLimiter[T]) NumRequeues(item T) int {
	if r.native != nil {
		return r.native.NumRequeues(item)
	}
	return r.limiter.NumRequeues(item)
}

// ---- golang.org/x/time/rate ------------------------------------------------

// TypedBucketRateLimiter adapts a golang.org/x/time/rate limiter, exactly
// as client-go's type of the same name, so that
//
//	&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)}
//
// compiles unchanged. It runs in Go; NewTypedTokenBucketRateLimiter is the
// same bucket inside libworkqueue.
type TypedBucketRateLimiter[T comparable] struct {
	*rate.Limiter
}

// When reserves a token and returns how long until it is available.
func (r *TypedBucketRateLimiter[T]) When(item T) time.Duration {
	return r.Limiter.Reserve().Delay()
}

// WhenWithClock is When at the manual clock's time (nil: real time).
func (r *TypedBucketRateLimiter[T]) WhenWithClock(item T, clock *ManualClock) time.Duration {
	if clock == nil {
		return r.When(item)
	}
	now := time.Unix(0, 0).Add(clock.Now())
	return r.Limiter.ReserveN(now, 1).DelayFrom(now)
}

// NumRequeues is always 0: a bucket does not tell items apart.
func (r *TypedBucketRateLimiter[T]) NumRequeues(item T) int { return 0 }

// Forget does nothing.
func (r *TypedBucketRateLimiter[T]) Forget(item T) {}
