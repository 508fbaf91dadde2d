package workqueue

import (
	"context"
	"sync"
	"time"
)

// Waiting until a native queue (a work queue or a scheduling queue) has
// something for its caller: GetWithContext and PopWithContext share it.

// waitSlice is the longest wait of one call into the library while
// waiting for a context where the queue's fd cannot be polled.
const waitSlice = 50 * time.Millisecond

// waitReady calls try until it reports true or ctx is done (then it
// returns ctx.Err()). try gets a timeout in nanoseconds for its call into
// the library; pollable gives the queue's pollable fd (-1: none). The caller
// keeps the native queue alive for the whole wait.
//
// Where the queue has a pollable fd (Linux), try is called with no
// timeout and the goroutine waits in the Go netpoller between attempts:
// no OS thread is held and cancellation is immediate. Elsewhere try waits
// in the library in slices of waitSlice, checking ctx between slices.
func waitReady(ctx context.Context, pollable func() int, try func(timeout int64) bool) error {
	if try(noWait) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if done, err, ok := pollWait(ctx, pollable, try); ok {
		if done {
			return nil
		}
		return err
	}
	for {
		slice := waitSlice
		if deadline, ok := ctx.Deadline(); ok {
			slice = min(slice, max(time.Until(deadline), time.Millisecond))
		}
		if try(int64(slice)) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// openFdOnce returns *fd, set at the first call from open (wq_queue_fd,
// wq_squeue_fd); *fd starts at -1 and stays so if open fails.
func openFdOnce(once *sync.Once, fd *int, open func() (int, status)) int {
	once.Do(func() {
		if got, st := open(); st == stOK {
			*fd = got
		}
	})
	return *fd
}
