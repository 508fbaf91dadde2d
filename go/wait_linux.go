//go:build linux

package workqueue

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// pollWait waits for the queue in the Go netpoller: the queue's fd (a
// timerfd the library keeps readable while a get or pop would not block,
// and arms for the earliest delayed key or the next backoff to end),
// given by pollable, is duplicated and registered with the runtime's
// epoll, edge-triggered. Between attempts the goroutine is parked like on
// a channel; ctx's cancellation sets a read deadline in the past, which
// wakes it at once.
//
// Readability can be spurious (another caller took the key first): try
// then reports false and the wait goes on. No wakeup is lost: the runtime
// records an edge that arrives between an attempt and the park.
//
// ok is false when the fd cannot be polled; the caller then waits in
// slices.
func pollWait(ctx context.Context, pollable func() int, try func(timeout int64) bool) (done bool, err error, ok bool) {
	fd := pollable()
	if fd < 0 {
		return false, nil, false
	}
	// The library owns fd; poll a duplicate of it (same open file).
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return false, nil, false
	}
	f := os.NewFile(dup, "workqueue")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false, nil, false
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err = rc.Read(func(uintptr) bool {
		done = try(noWait)
		return done
	})
	switch {
	case done:
		return true, nil, true
	case ctx.Err() != nil:
		return false, ctx.Err(), true
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, ctx.Err(), true
	default:
		// Not pollable after all (the runtime refused the fd).
		return false, nil, false
	}
}
