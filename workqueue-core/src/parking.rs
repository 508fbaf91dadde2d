//! Where threads sleep while they wait for work, apart from the state lock.
//!
//! The protocol (an event count): a thread checks the queue under the
//! state lock, finds nothing, registers as a sleeper and notes the current
//! broadcast generation, unlocks, then parks here. A thread that changes
//! the state decides under the state lock whom to wake, unlocks, then
//! unparks. Nothing is lost in between: an `unpark_one` leaves a permit
//! that the next parker takes even if it arrives late, and a broadcast is
//! seen by every parker whose noted generation is older.

use crate::sync::{lock, wait_timeout, wait_untimed, Condvar, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Parking {
    room: Mutex<Room>,
    wakeup: Condvar,
}

struct Room {
    /// Wakeups sent to no one in particular, taken by the next to park.
    permits: usize,
    /// The newest broadcast generation.
    generation: u64,
}

impl Parking {
    pub(crate) fn new() -> Self {
        Parking {
            room: Mutex::new(Room {
                permits: 0,
                generation: 0,
            }),
            wakeup: Condvar::new(),
        }
    }

    /// Sleeps until a permit is available (and takes it), a broadcast newer
    /// than `seen_generation` arrives, or `deadline` passes.
    pub(crate) fn park(&self, seen_generation: u64, deadline: Option<Instant>) {
        let mut room = lock(&self.room);
        loop {
            if room.permits > 0 {
                room.permits -= 1;
                return;
            }
            if room.generation > seen_generation {
                return;
            }
            room = match deadline {
                None => wait_untimed(&self.wakeup, room),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    wait_timeout(&self.wakeup, room, left.max(Duration::from_nanos(1)))
                }
            };
        }
    }

    /// Wakes one parked thread, or the next one to park.
    pub(crate) fn unpark_one(&self) {
        lock(&self.room).permits += 1;
        self.wakeup.notify_one();
    }

    /// Wakes every thread parked with a generation older than `generation`.
    pub(crate) fn unpark_all(&self, generation: u64) {
        let mut room = lock(&self.room);
        room.generation = room.generation.max(generation);
        drop(room);
        self.wakeup.notify_all();
    }
}
