package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// TestParallelizeUntil: every piece visited exactly once, for several
// chunk sizes (client-go's TestParallelizeUntil).
func TestParallelizeUntil(t *testing.T) {
	for _, tc := range []struct{ pieces, workers, chunk int }{
		{1000, 1, 1}, {1000, 10, 1}, {1000, 10, 10}, {1000, 10, 100}, {999, 10, 13}, {5, 50, 1}, {1, 3, 7},
	} {
		t.Run(fmt.Sprintf("%d-pieces-%d-workers-chunk-%d", tc.pieces, tc.workers, tc.chunk), func(t *testing.T) {
			seen := make([]atomic.Int32, tc.pieces)
			workqueue.ParallelizeUntil(context.Background(), tc.workers, tc.pieces, func(p int) {
				seen[p].Add(1)
			}, workqueue.WithChunkSize(tc.chunk))
			for p := range seen {
				if n := seen[p].Load(); n != 1 {
					t.Fatalf("piece %d ran %d times", p, n)
				}
			}
		})
	}
}

func TestParallelizeCancellationStopsNewPieces(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := workqueue.Parallelize(ctx, 4, 10_000, func(p int) {
		ran.Add(1)
		if p == 20 {
			cancel()
			return
		}
		time.Sleep(50 * time.Microsecond) // 10,000 pieces would take 125 ms
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v (%d pieces ran)", err, ran.Load())
	}
	if n := ran.Load(); n >= 1000 || n < 1 {
		t.Fatalf("%d pieces ran", n)
	}
	// Already cancelled: nothing runs.
	ran.Store(0)
	workqueue.ParallelizeUntil(ctx, 4, 100, func(int) { ran.Add(1) })
	if n := ran.Load(); n != 0 {
		t.Fatalf("%d pieces ran after the cancel", n)
	}
}

func TestParallelizeEdgeCases(t *testing.T) {
	ran := false
	workqueue.ParallelizeUntil(context.Background(), 4, 0, func(int) { ran = true })
	workqueue.ParallelizeUntil(context.Background(), 0, 10, func(int) { ran = true })
	workqueue.ParallelizeUntil(nil, 2, 0, func(int) { ran = true }) //nolint:staticcheck // client-go accepts a nil context
	if ran {
		t.Fatal("a piece ran with zero pieces or zero workers")
	}
	if err := workqueue.Parallelize(context.Background(), 4, 0, func(int) {}); err != nil {
		t.Fatalf("zero pieces: %v", err)
	}
	for _, bad := range []struct{ workers, pieces, chunk int }{{0, 10, 1}, {-1, 10, 1}, {2, -1, 1}, {2, 10, -5}} {
		err := workqueue.Parallelize(context.Background(), bad.workers, bad.pieces, func(int) {}, workqueue.WithChunkSize(bad.chunk))
		if !errors.Is(err, workqueue.ErrInvalidArgument) {
			t.Errorf("%+v: err = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestParallelizePanicIsReported(t *testing.T) {
	err := workqueue.Parallelize(context.Background(), 4, 100, func(p int) {
		if p == 42 {
			panic("boom")
		}
	})
	var pe *workqueue.PanicError
	if !errors.As(err, &pe) || pe.Piece != 42 || pe.Value != "boom" {
		t.Fatalf("err = %v", err)
	}
	defer func() {
		if v := recover(); v == nil {
			t.Fatal("ParallelizeUntil swallowed the panic")
		}
	}()
	workqueue.ParallelizeUntil(context.Background(), 4, 100, func(p int) {
		if p == 7 {
			panic("boom")
		}
	})
}
