//go:build linux

package workqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// On Linux PopWithContext parks in the Go netpoller on the scheduling
// queue's fd: a cancellation, an Add or a backoff coming due wakes it at
// once, not at the end of a 50 ms slice.

// prompt is well under the 50 ms slice a wait in the library would take.
const prompt = 25 * time.Millisecond

// popAsync runs PopWithContext on a goroutine and reports when it returned.
func popAsync(ctx context.Context, q *workqueue.RawSchedulingQueue) chan time.Time {
	done := make(chan time.Time, 1)
	go func() {
		_, _, _, err := q.PopWithContext(ctx)
		if err == nil || errors.Is(err, context.Canceled) {
			done <- time.Now()
		}
	}()
	return done
}

func TestSchedulingPopWithContextReturnsPromptlyOnCancel(t *testing.T) {
	q, err := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for round := 0; round < 5; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := popAsync(ctx, q)
		time.Sleep(10 * time.Millisecond)
		start := time.Now()
		cancel()
		select {
		case end := <-done:
			if d := end.Sub(start); d > prompt {
				t.Fatalf("round %d: cancellation took %v", round, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("PopWithContext ignored the cancellation")
		}
	}
}

func TestSchedulingPopWithContextWokenPromptlyByAdd(t *testing.T) {
	q, err := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for round := uint64(0); round < 5; round++ {
		done := popAsync(context.Background(), q)
		time.Sleep(10 * time.Millisecond)
		start := time.Now()
		q.Add(round, 0)
		select {
		case end := <-done:
			if d := end.Sub(start); d > prompt {
				t.Fatalf("round %d: the add woke it after %v", round, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an Add did not wake PopWithContext")
		}
		if !q.Done(round) {
			t.Fatalf("round %d: not in flight", round)
		}
	}
}

func TestSchedulingPopWithContextWokenWhenABackoffEnds(t *testing.T) {
	const backoff = 60 * time.Millisecond
	q, err := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{
		InitialBackoff:        backoff,
		DisablePopFromBackoff: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Add(7, 0)
	if _, _, ok, _ := q.TryPop(); !ok {
		t.Fatal("TryPop")
	}
	start := time.Now()
	if p := q.RequeueBackoff(7); p != workqueue.PlaceBackoff {
		t.Fatalf("RequeueBackoff = %v", p)
	}
	key, _, closed, err := q.PopWithContext(context.Background())
	d := time.Since(start)
	if key != 7 || closed || err != nil {
		t.Fatalf("got %d %v %v", key, closed, err)
	}
	if d < backoff-time.Millisecond || d > backoff+prompt {
		t.Fatalf("popped after %v, the backoff was %v", d, backoff)
	}
}
