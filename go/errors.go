package workqueue

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by calls that report errors once the queue (or
// semaphore) has been closed with Close. Calls without an error result
// treat a closed queue as a shut-down, empty one: Add does nothing, Get
// reports shutdown, Len is 0.
var ErrClosed = errors.New("workqueue: closed")

// ErrInvalidArgument is wrapped by the errors of constructors and calls
// given an out-of-range value (a zero count, an impossible limiter).
var ErrInvalidArgument = errors.New("workqueue: invalid argument")

// StatusError is an unexpected status from libworkqueue.
type StatusError struct {
	Op     string // the C function, e.g. "wq_queue_new"
	Status int    // the wq_status value
	Text   string // wq_status_str of it
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("workqueue: %s: %s (status %d)", e.Op, e.Text, e.Status)
}

// Unwrap lets errors.Is(err, ErrInvalidArgument) match an invalid argument.
func (e *StatusError) Unwrap() error {
	if status(e.Status) == stInvalidArgument {
		return ErrInvalidArgument
	}
	return nil
}

func statusError(op string, st status) error {
	return &StatusError{Op: op, Status: int(st), Text: st.String()}
}

// check panics on a status that only a bug (in this package or in the
// library) can produce: the calls it guards cannot fail otherwise.
func check(op string, st status) {
	if st != stOK {
		panic(statusError(op, st))
	}
}
