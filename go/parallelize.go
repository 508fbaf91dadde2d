package workqueue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// ParallelizeUntil and Parallelize are written in Go (goroutines over an
// atomic chunk counter), not over wq_parallelize: the pieces are Go
// functions, and calling them from library threads would cost a cgo
// callback per piece and pin OS threads. The semantics are the core's.

// DoWorkPieceFunc does one piece of work.
type DoWorkPieceFunc func(piece int)

type options struct {
	chunkSize int
}

// Options configure ParallelizeUntil.
type Options func(*options)

// WithChunkSize hands pieces to workers c at a time rather than one by one.
func WithChunkSize(c int) func(*options) {
	return func(o *options) {
		o.chunkSize = c
	}
}

// PanicError is what Parallelize returns (and ParallelizeUntil re-panics
// with) when a piece panicked: the first panic's value and piece.
type PanicError struct {
	Piece int
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("workqueue: piece %d panicked: %v", e.Piece, e.Value)
}

// ParallelizeUntil runs doWorkPiece(p) for every p in [0, pieces) on up to
// workers goroutines, as client-go's function of the same name: it returns
// when every piece has run, or, once ctx is done, when the running pieces
// return (ctx is checked before every piece). Zero pieces, or fewer than
// one worker, returns at once.
//
// Unlike client-go (where a panic in a piece crashes the process from a
// worker goroutine), a panic stops the remaining pieces and is re-raised
// in the caller's goroutine, as a *PanicError, once every worker stopped.
func ParallelizeUntil(ctx context.Context, workers, pieces int, doWorkPiece DoWorkPieceFunc, opts ...Options) {
	if workers < 1 || pieces <= 0 {
		return
	}
	err := Parallelize(ctx, workers, pieces, doWorkPiece, opts...)
	if pe, ok := err.(*PanicError); ok {
		panic(pe)
	}
}

// Parallelize is ParallelizeUntil reporting what happened: nil when every
// piece ran; ctx.Err() when ctx ended the run first; a *PanicError when a
// piece panicked; an ErrInvalidArgument error for fewer than one worker,
// a negative piece count, or a chunk size below 1 (0 means 1).
func Parallelize(ctx context.Context, workers, pieces int, doWorkPiece DoWorkPieceFunc, opts ...Options) error {
	o := options{chunkSize: 1}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case workers < 1:
		return fmt.Errorf("%w: %d workers (at least 1)", ErrInvalidArgument, workers)
	case pieces < 0:
		return fmt.Errorf("%w: %d pieces (at least 0)", ErrInvalidArgument, pieces)
	case o.chunkSize < 0:
		return fmt.Errorf("%w: chunk size %d (at least 1)", ErrInvalidArgument, o.chunkSize)
	case pieces == 0:
		return nil
	}
	chunk := max(o.chunkSize, 1)
	chunks := (pieces + chunk - 1) / chunk
	workers = min(workers, chunks)
	if ctx == nil {
		ctx = context.Background()
	}
	done := ctx.Done()

	var (
		next    atomic.Int64
		stopped atomic.Bool
		once    sync.Once
		failure *PanicError
		wg      sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		piece := -1
		defer func() {
			if v := recover(); v != nil {
				once.Do(func() { failure = &PanicError{Piece: piece, Value: v} })
				stopped.Store(true)
			}
		}()
		for !stopped.Load() {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			end := min((c+1)*chunk, pieces)
			for piece = c * chunk; piece < end; piece++ {
				if done != nil {
					select {
					case <-done:
						stopped.Store(true)
						return
					default:
					}
				}
				if stopped.Load() {
					return
				}
				doWorkPiece(piece)
			}
		}
	}
	wg.Add(workers)
	for i := 1; i < workers; i++ {
		go work()
	}
	work() // the caller is one of the workers
	wg.Wait()
	if failure != nil {
		return failure
	}
	if int(next.Load()) < chunks || stopped.Load() {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
