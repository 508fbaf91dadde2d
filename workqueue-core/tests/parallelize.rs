//! `parallelize_until` (CONFORMANCE.md, Parallelize).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use workqueue_core::{parallelize_until, CancelToken, ParallelizeError, PiecePanic};

fn counters(n: usize) -> Vec<AtomicUsize> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

fn assert_each_once(visits: &[AtomicUsize], what: &str) {
    for (piece, count) in visits.iter().enumerate() {
        let count = count.load(Ordering::SeqCst);
        assert_eq!(count, 1, "{what}: piece {piece} ran {count} times");
    }
}

/// [TestParallelizeUntil] 999 pieces, several chunk sizes (13 leaves a
/// short last chunk) and worker counts.
#[test]
fn every_piece_runs_exactly_once() {
    const PIECES: usize = 999;
    for chunk_size in [1, 10, 100, 13] {
        for workers in [1, 4, 16] {
            let visits = counters(PIECES);
            let result = parallelize_until(None, workers, PIECES, chunk_size, |piece| {
                visits[piece].fetch_add(1, Ordering::SeqCst);
            });
            assert_eq!(result, Ok(()));
            assert_each_once(
                &visits,
                &format!("chunk size {chunk_size}, {workers} workers"),
            );
        }
    }
}

#[test]
fn chunk_larger_than_the_pieces() {
    let visits = counters(7);
    let result = parallelize_until(None, 3, 7, 1000, |piece| {
        visits[piece].fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(result, Ok(()));
    assert_each_once(&visits, "one chunk");
}

#[test]
fn more_workers_than_pieces() {
    let visits = counters(5);
    let threads = Mutex::new(std::collections::HashSet::new());
    let result = parallelize_until(None, 64, 5, 1, |piece| {
        visits[piece].fetch_add(1, Ordering::SeqCst);
        threads.lock().unwrap().insert(std::thread::current().id());
    });
    assert_eq!(result, Ok(()));
    assert_each_once(&visits, "64 workers, 5 pieces");
    assert!(threads.lock().unwrap().len() <= 5);
}

/// The caller's thread is one of the workers: with one worker every piece
/// runs on it, in order.
#[test]
fn one_worker_runs_on_the_calling_thread_in_order() {
    let caller = std::thread::current().id();
    let order = Mutex::new(Vec::new());
    let result = parallelize_until(None, 1, 50, 7, |piece| {
        assert_eq!(std::thread::current().id(), caller);
        order.lock().unwrap().push(piece);
    });
    assert_eq!(result, Ok(()));
    assert_eq!(order.into_inner().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn zero_pieces_returns_at_once() {
    let calls = AtomicUsize::new(0);
    let result = parallelize_until(None, 4, 0, 1, |_| {
        calls.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(result, Ok(()));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn zero_workers_or_chunk_size_is_an_invalid_argument() {
    let calls = AtomicUsize::new(0);
    let piece = |_| {
        calls.fetch_add(1, Ordering::SeqCst);
    };
    match parallelize_until(None, 0, 10, 1, piece) {
        Err(ParallelizeError::InvalidArgument(error)) => {
            assert_eq!(error.argument(), "workers");
        }
        other => panic!("zero workers gave {other:?}"),
    }
    match parallelize_until(None, 4, 10, 0, piece) {
        Err(ParallelizeError::InvalidArgument(error)) => {
            assert_eq!(error.argument(), "chunk size");
            let message = ParallelizeError::InvalidArgument(error).to_string();
            assert!(message.contains("chunk size"), "{message}");
        }
        other => panic!("zero chunk size gave {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing ran");
}

/// With one worker, cancelling inside piece 100 lets piece 100 finish and
/// starts no other.
#[test]
fn cancellation_stops_new_pieces() {
    let cancel = CancelToken::new();
    let visits = counters(1000);
    let result = parallelize_until(Some(&cancel), 1, 1000, 1, |piece| {
        visits[piece].fetch_add(1, Ordering::SeqCst);
        if piece == 100 {
            cancel.cancel();
        }
    });
    assert_eq!(result, Err(ParallelizeError::Cancelled { completed: 101 }));
    assert_each_once(&visits[..=100], "before the cancel");
    assert!(visits[101..].iter().all(|v| v.load(Ordering::SeqCst) == 0));
}

/// With several workers, each can have checked the token just before it
/// was cancelled, so at most one more piece per other worker starts.
#[test]
fn cancellation_with_several_workers() {
    const WORKERS: usize = 4;
    let cancel = CancelToken::new();
    let started = AtomicUsize::new(0);
    let after_cancel = AtomicUsize::new(0);
    let result = parallelize_until(Some(&cancel), WORKERS, 100_000, 10, |piece| {
        if cancel.is_cancelled() {
            after_cancel.fetch_add(1, Ordering::SeqCst);
        }
        started.fetch_add(1, Ordering::SeqCst);
        if piece == 500 {
            cancel.cancel();
        }
    });
    let Err(ParallelizeError::Cancelled { completed }) = result else {
        panic!("expected a cancellation, got {result:?}");
    };
    assert_eq!(completed, started.load(Ordering::SeqCst));
    assert!(completed < 100_000);
    assert!(after_cancel.load(Ordering::SeqCst) < WORKERS);
}

#[test]
fn an_already_cancelled_token_runs_nothing() {
    let cancel = CancelToken::new();
    cancel.cancel();
    let calls = AtomicUsize::new(0);
    let result = parallelize_until(Some(&cancel), 4, 100, 3, |_| {
        calls.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(result, Err(ParallelizeError::Cancelled { completed: 0 }));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A panic in one piece is reported with its index and message; it stops
/// neither its worker nor any other piece.
#[test]
fn a_panicking_piece_is_reported_and_the_rest_still_run() {
    let visits = counters(200);
    let result = parallelize_until(None, 4, 200, 7, |piece| {
        visits[piece].fetch_add(1, Ordering::SeqCst);
        if piece == 13 || piece == 150 {
            panic!("piece {piece} failed");
        }
        if piece == 14 {
            std::panic::panic_any(42u32); // a payload that is not a string
        }
    });
    assert_each_once(&visits, "with panics");
    let Err(ParallelizeError::Panicked { panics }) = result else {
        panic!("expected panics, got {result:?}");
    };
    assert_eq!(panics.len(), 3);
    assert_eq!(
        panics[0],
        PiecePanic {
            piece: 13,
            message: "piece 13 failed".to_owned()
        }
    );
    assert_eq!(panics[1].piece, 14);
    assert!(!panics[1].message.is_empty());
    assert_eq!(panics[2].message, "piece 150 failed");
    let message = ParallelizeError::Panicked { panics }.to_string();
    assert!(message.contains("piece 13 failed"), "{message}");
}
