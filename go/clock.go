package workqueue

import (
	"runtime"
	"sync"
	"time"
	"weak"
)

// ManualClock is a clock that moves only when told to, for deterministic
// tests of delays, backoff and token buckets (the counterpart of
// k8s.io/utils/clock/testing.FakeClock). It starts at time 0 and is
// measured as a duration since that origin.
//
// Give it to a queue in its config (Clock field): stepping it makes the
// queue's delayed keys due and wakes the queue's blocked getters. Timeouts
// of blocking calls (GetWithContext deadlines, ShutDownWithDrainTimeout)
// still follow real time.
//
// A ManualClock is safe for concurrent use. It needs no Close: its native
// handle is freed when it becomes unreachable, and queues built on it keep
// their own reference.
type ManualClock struct {
	ptr *cClock

	subMu sync.Mutex
	subs  []weak.Pointer[clockSubscriber] // metrics bridges on this clock
}

// NewManualClock returns a manual clock at time 0.
func NewManualClock() *ManualClock {
	ptr, st := clockNew()
	check("wq_manual_clock_new", st)
	c := &ManualClock{ptr: ptr}
	runtime.AddCleanup(c, func(o *cOwner) { o.release() }, owned(func() { clockFree(ptr) }))
	return c
}

// Step moves the clock forward by d (a negative d does nothing).
func (c *ManualClock) Step(d time.Duration) {
	check("wq_manual_clock_step", clockStep(c.ptr, nanos(d)))
	runtime.KeepAlive(c)
	c.notify()
}

// Set moves the clock to d after its origin; going back is allowed (no
// delay ever becomes negative).
func (c *ManualClock) Set(d time.Duration) {
	check("wq_manual_clock_set", clockSet(c.ptr, nanos(d)))
	runtime.KeepAlive(c)
	c.notify()
}

// Now is the clock's time as a duration since its origin.
func (c *ManualClock) Now() time.Duration {
	now, st := clockNow(c.ptr)
	check("wq_manual_clock_now", st)
	runtime.KeepAlive(c)
	return fromNanos(now)
}

// cptr is the native clock, nil for the real clock.
func (c *ManualClock) cptr() *cClock {
	if c == nil {
		return nil
	}
	return c.ptr
}
