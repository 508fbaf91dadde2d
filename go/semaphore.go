package workqueue

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// Semaphore is a counting semaphore in libworkqueue (the token channel
// controllers bound their concurrency with): at most n holders at once. A
// permit may be released by another goroutine than the one that acquired
// it. Safe for concurrent use.
//
// Blocking acquires wait inside the library in slices of 50 ms (holding
// an OS thread while they wait), checking their context and Close between
// slices.
type Semaphore struct {
	ptr   *cSem
	state atomic.Int64 // closedBit | calls in flight
	owner *cOwner
}

// NewSemaphore returns a semaphore with n permits, all available. It
// panics if n < 1.
func NewSemaphore(n int) *Semaphore {
	if n < 1 {
		panic(fmt.Errorf("%w: semaphore of %d permits (at least 1)", ErrInvalidArgument, n))
	}
	ptr, st := semNew(n)
	check("wq_semaphore_new", st)
	s := &Semaphore{ptr: ptr}
	s.owner = owned(func() { semFree(ptr) })
	runtime.AddCleanup(s, func(o *cOwner) { o.release() }, s.owner)
	return s
}

func (s *Semaphore) enter() bool {
	if s.state.Add(1)&closedBit != 0 {
		s.state.Add(-1)
		return false
	}
	return true
}

func (s *Semaphore) exit() { s.state.Add(-1) }

// Acquire takes a permit, waiting until one is free; it returns ctx.Err()
// if ctx ends first, ErrClosed once the semaphore is closed.
func (s *Semaphore) Acquire(ctx context.Context) error {
	for {
		slice := waitSlice
		if deadline, ok := ctx.Deadline(); ok {
			slice = min(slice, max(time.Until(deadline), 0))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.acquire(int64(slice))
		if ok || err != nil {
			return err
		}
	}
}

// AcquireTimeout takes a permit, waiting at most timeout; it reports
// whether it took one (false also once the semaphore is closed).
func (s *Semaphore) AcquireTimeout(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		slice := min(waitSlice, max(time.Until(deadline), 0))
		ok, err := s.acquire(int64(slice))
		if ok {
			return true
		}
		if err != nil || slice < waitSlice {
			return false
		}
	}
}

// TryAcquire takes a permit if one is free now.
func (s *Semaphore) TryAcquire() bool {
	ok, _ := s.acquire(noWait)
	return ok
}

func (s *Semaphore) acquire(timeout int64) (bool, error) {
	if !s.enter() {
		return false, ErrClosed
	}
	st := semAcquire(s.ptr, timeout)
	s.exit()
	if st == stTimeout {
		return false, nil
	}
	check("wq_semaphore_acquire", st)
	return true, nil
}

// Release returns a permit. It panics if every permit is already
// available (a permit released twice, or never acquired), as
// golang.org/x/sync/semaphore does.
func (s *Semaphore) Release() {
	if !s.enter() {
		return
	}
	st := semRelease(s.ptr)
	s.exit()
	if st == stInvalidState {
		panic("workqueue: semaphore released more than held")
	}
	check("wq_semaphore_release", st)
}

// Available is the number of permits not held.
func (s *Semaphore) Available() int {
	if !s.enter() {
		return 0
	}
	n, st := semAvailable(s.ptr)
	s.exit()
	check("wq_semaphore_available", st)
	return n
}

// Close frees the semaphore once the calls in flight return (waiting
// acquires notice within 50 ms and return ErrClosed). Later calls do
// nothing; Close is idempotent. A semaphore never closed is freed when
// unreachable.
func (s *Semaphore) Close() {
	for {
		v := s.state.Load()
		if v&closedBit != 0 {
			return
		}
		if s.state.CompareAndSwap(v, v|closedBit) {
			break
		}
	}
	for s.state.Load() != closedBit {
		time.Sleep(time.Millisecond)
	}
	s.owner.release()
}
