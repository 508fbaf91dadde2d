//! `ParallelizeUntil`: N workers over P pieces of work.

use crate::cancel::CancelToken;
use crate::error::ConfigError;
use crate::worker::panic_message;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

/// A piece whose function panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiecePanic {
    /// The index of the piece.
    pub piece: usize,
    /// The panic's message.
    pub message: String,
}

/// Why [`parallelize_until`] did not run every piece to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParallelizeError {
    /// An argument was out of range; nothing ran.
    InvalidArgument(ConfigError),
    /// The token was cancelled; `completed` pieces ran, the rest did not.
    Cancelled { completed: usize },
    /// Pieces panicked (each is listed, in piece order); every other
    /// piece still ran.
    Panicked { panics: Vec<PiecePanic> },
}

impl fmt::Display for ParallelizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParallelizeError::InvalidArgument(error) => error.fmt(f),
            ParallelizeError::Cancelled { completed } => {
                write!(f, "cancelled after {completed} pieces")
            }
            ParallelizeError::Panicked { panics } => {
                write!(f, "{} piece(s) panicked", panics.len())?;
                if let Some(first) = panics.first() {
                    write!(f, "; piece {}: {}", first.piece, first.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ParallelizeError {}

impl From<ConfigError> for ParallelizeError {
    fn from(error: ConfigError) -> Self {
        ParallelizeError::InvalidArgument(error)
    }
}

/// Runs `piece(i)` for every `i` in `0..pieces` on up to `workers` threads
/// (the calling thread is one of them), handing out `chunk_size`
/// consecutive pieces at a time. `cancel` is checked before every piece:
/// once it is cancelled no new piece starts. Every piece runs exactly once
/// unless cancelled. A panicking piece is caught and reported in the error;
/// it stops neither its worker nor the other pieces.
///
/// Like client-go's `workqueue.ParallelizeUntil(ctx, workers, pieces,
/// doWorkPiece, WithChunkSize(n))`. Zero pieces returns at once.
pub fn parallelize_until<F>(
    cancel: Option<&CancelToken>,
    workers: usize,
    pieces: usize,
    chunk_size: usize,
    piece: F,
) -> Result<(), ParallelizeError>
where
    F: Fn(usize) + Sync,
{
    if workers == 0 {
        return Err(ConfigError::new("workers", "must be at least 1").into());
    }
    if chunk_size == 0 {
        return Err(ConfigError::new("chunk size", "must be at least 1").into());
    }
    if pieces == 0 {
        return Ok(());
    }
    let chunks = pieces.div_ceil(chunk_size);
    let run = Run {
        cancel,
        pieces,
        chunk_size,
        next_chunk: AtomicUsize::new(0),
        completed: AtomicUsize::new(0),
        cancelled: AtomicBool::new(false),
        panics: Mutex::new(Vec::new()),
        piece: &piece,
    };
    thread::scope(|scope| {
        for _ in 1..workers.min(chunks) {
            scope.spawn(|| run.work());
        }
        run.work();
    });
    let mut panics = run.panics.into_inner().unwrap_or_else(|p| p.into_inner());
    if run.cancelled.load(Ordering::Relaxed) {
        return Err(ParallelizeError::Cancelled {
            completed: run.completed.load(Ordering::Relaxed),
        });
    }
    if !panics.is_empty() {
        panics.sort_by_key(|panic| panic.piece);
        return Err(ParallelizeError::Panicked { panics });
    }
    Ok(())
}

struct Run<'a, F> {
    cancel: Option<&'a CancelToken>,
    pieces: usize,
    chunk_size: usize,
    next_chunk: AtomicUsize,
    completed: AtomicUsize,
    cancelled: AtomicBool,
    panics: Mutex<Vec<PiecePanic>>,
    piece: &'a F,
}

impl<F: Fn(usize) + Sync> Run<'_, F> {
    fn work(&self) {
        loop {
            let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
            let start = chunk.saturating_mul(self.chunk_size);
            if start >= self.pieces {
                return;
            }
            let end = start.saturating_add(self.chunk_size).min(self.pieces);
            for index in start..end {
                if self.cancel.is_some_and(CancelToken::is_cancelled) {
                    self.cancelled.store(true, Ordering::Relaxed);
                    return;
                }
                match catch_unwind(AssertUnwindSafe(|| (self.piece)(index))) {
                    Ok(()) => {
                        self.completed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(payload) => {
                        self.panics
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(PiecePanic {
                                piece: index,
                                message: panic_message(payload.as_ref()),
                            })
                    }
                }
            }
        }
    }
}
