//go:build !linux

package workqueue

import "context"

// pollWait is not available: the queue has a pollable fd only on Linux.
func pollWait(ctx context.Context, pollable func() int, try func(timeout int64) bool) (done bool, err error, ok bool) {
	return false, nil, false
}
