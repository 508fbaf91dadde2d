//! Where threads sleep while they wait for work, apart from the state lock.
//!
//! The protocol (an event count): a thread checks the queue under the
//! state lock, finds nothing, registers as a sleeper and notes the current
//! broadcast generation, unlocks, then parks here. A thread that changes
//! the state decides under the state lock whom to wake, unlocks, then
//! unparks. Nothing is lost in between: a claimed wakeup leaves a permit
//! that the next parker takes even if it arrives late, and a broadcast is
//! seen by every parker whose noted generation is older.
//!
//! Permits carry the generation they were claimed in, and only a sleeper
//! of that generation takes one. A claim counts only sleepers no wakeup is
//! on its way to, and a broadcast counts everyone asleep at the time: a
//! sleeper it covers that took a later permit would leave the sleeper the
//! permit was claimed for asleep, with nobody counting it as idle (a
//! getter then slept through the end of a drain).

use crate::clock::{Clock, Timestamp};
use crate::sync::{lock, wait_timeout, wait_untimed, Condvar, Mutex};
use std::cmp::Ordering;
use std::time::{Duration, Instant};

pub(crate) struct Parking {
    room: Mutex<Room>,
    wakeup: Condvar,
}

struct Room {
    /// Wakeups sent to no one in particular, taken by the next sleeper of
    /// `permit_generation` to park.
    permits: usize,
    /// The generation the permits were claimed in.
    permit_generation: u64,
    /// The newest broadcast generation.
    generation: u64,
}

impl Parking {
    pub(crate) fn new() -> Self {
        Parking {
            room: Mutex::new(Room {
                permits: 0,
                permit_generation: 0,
                generation: 0,
            }),
            wakeup: Condvar::new(),
        }
    }

    /// Sleeps until a permit of `seen_generation` is available (and takes
    /// it), a broadcast newer than `seen_generation` arrives, or `deadline`
    /// passes.
    pub(crate) fn park(&self, seen_generation: u64, deadline: Option<Instant>) {
        let mut room = lock(&self.room);
        loop {
            // A permit of a later generation was claimed after a broadcast
            // that covers this sleeper, even if the broadcast has not
            // arrived yet.
            if room.generation > seen_generation || room.permit_generation > seen_generation {
                if room.permits > 0 && room.permit_generation > seen_generation {
                    // The notification that woke us may have been theirs.
                    self.wakeup.notify_one();
                }
                return;
            }
            if room.permits > 0 && room.permit_generation == seen_generation {
                room.permits -= 1;
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

    /// Sends wakeups claimed with [`Sleepers::claim`]: each wakes one
    /// thread parked in their generation, or the next one to park in it.
    /// Wakeups a broadcast has overtaken since are dropped: the sleepers
    /// they were for are awake.
    #[inline]
    pub(crate) fn unpark(&self, claimed: Claimed) {
        if claimed.count > 0 {
            self.send(claimed);
        }
    }

    fn send(&self, claimed: Claimed) {
        let mut room = lock(&self.room);
        if claimed.generation < room.generation {
            return;
        }
        match claimed.generation.cmp(&room.permit_generation) {
            Ordering::Less => return,
            Ordering::Equal => room.permits += claimed.count,
            Ordering::Greater => {
                room.permit_generation = claimed.generation;
                room.permits = claimed.count;
            }
        }
        drop(room);
        for _ in 0..claimed.count {
            self.wakeup.notify_one();
        }
    }

    /// Wakes every thread parked with a generation older than `generation`.
    pub(crate) fn unpark_all(&self, generation: u64) {
        let mut room = lock(&self.room);
        room.generation = room.generation.max(generation);
        drop(room);
        self.wakeup.notify_all();
    }
}

/// How long a caller may wait for work.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    Never,
    Until(Instant),
    Forever,
}

impl Wait {
    /// `None`: forever; zero: not at all.
    pub(crate) fn from_timeout(timeout: Option<Duration>) -> Wait {
        match timeout {
            None => Wait::Forever,
            Some(timeout) if timeout.is_zero() => Wait::Never,
            // A timeout too large for an `Instant` is as good as forever.
            Some(timeout) => Instant::now()
                .checked_add(timeout)
                .map_or(Wait::Forever, Wait::Until),
        }
    }

    /// The deadline of a wait that is not over yet; `None` inside means
    /// forever, `None` outside that the wait is over.
    pub(crate) fn deadline(self) -> Option<Option<Instant>> {
        match self {
            Wait::Never => None,
            Wait::Forever => Some(None),
            Wait::Until(deadline) if deadline <= Instant::now() => None,
            Wait::Until(deadline) => Some(Some(deadline)),
        }
    }
}

/// The sleeping side of the protocol, kept under a queue's state lock: who
/// sleeps, how many are already being woken (so a wakeup is sent only to
/// someone who needs it: a notify with no waiter still costs a system
/// call), the broadcast generation, and the leader — the one sleeper timed
/// for the next timed event (a delayed key's ready time), while the others
/// sleep untimed (the leader/follower pattern of Java's `DelayQueue`).
#[derive(Default)]
pub(crate) struct Sleepers {
    sleeping: usize,
    /// Sleepers already woken and not yet running again.
    woken: usize,
    /// Bumped by every wakeup of all sleepers.
    generation: u64,
    /// The leader, by ticket.
    leader: Option<u64>,
    next_ticket: u64,
}

/// Wakeups claimed under the state lock, to send with [`Parking::unpark`]
/// once it is released.
#[must_use]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Claimed {
    count: usize,
    /// The sleepers' broadcast generation at the claim.
    generation: u64,
}

impl Claimed {
    #[inline]
    pub(crate) fn count(self) -> usize {
        self.count
    }

    /// Adds wakeups claimed later under the same lock.
    #[inline]
    pub(crate) fn merge(&mut self, later: Claimed) {
        self.count += later.count;
        self.generation = self.generation.max(later.generation);
    }
}

/// One sleep of one thread.
pub(crate) struct Nap {
    ticket: u64,
    /// The broadcast generation when it lay down.
    pub(crate) generation: u64,
    pub(crate) deadline: Option<Instant>,
}

impl Sleepers {
    /// Sleepers no wakeup is on its way to.
    #[inline]
    pub(crate) fn idle(&self) -> usize {
        self.sleeping.saturating_sub(self.woken)
    }

    pub(crate) fn has_leader(&self) -> bool {
        self.leader.is_some()
    }

    /// The next timed event came earlier: the leader's timer is late, so
    /// the next sleeper to wake takes the lead.
    pub(crate) fn depose_leader(&mut self) {
        self.leader = None;
    }

    /// Claims up to `wanted` wakeups for sleepers no wakeup is on its way
    /// to; send them with [`Parking::unpark`].
    #[inline]
    pub(crate) fn claim(&mut self, wanted: usize) -> Claimed {
        let count = wanted.min(self.idle());
        self.woken += count;
        Claimed {
            count,
            generation: self.generation,
        }
    }

    /// Claims a wakeup for every sleeper; the generation to broadcast.
    pub(crate) fn claim_all(&mut self) -> Option<u64> {
        if self.sleeping == 0 {
            return None;
        }
        self.woken = self.sleeping;
        self.generation += 1;
        Some(self.generation)
    }

    /// Lies down for `wait`, leading if nobody is timed for `next_timed`
    /// (on a real clock the leader's deadline is then that time; on a
    /// manual clock only a clock change makes it due, and the clock wakes
    /// every sleeper). `None` when the wait is already over.
    pub(crate) fn lie_down(
        &mut self,
        wait: Wait,
        next_timed: Option<Timestamp>,
        clock: &Clock,
    ) -> Option<Nap> {
        let mut deadline = wait.deadline()?;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let (None, Some(next)) = (self.leader, next_timed) {
            self.leader = Some(ticket);
            if !clock.is_manual() {
                let until = next.saturating_duration_since(clock.now());
                if let Some(at) = Instant::now().checked_add(until) {
                    deadline = Some(deadline.map_or(at, |d| d.min(at)));
                }
            }
        }
        self.sleeping += 1;
        Some(Nap {
            ticket,
            generation: self.generation,
            deadline,
        })
    }

    /// Gets up after `nap`, giving up the lead if it had it.
    pub(crate) fn get_up(&mut self, nap: &Nap) {
        self.sleeping -= 1;
        self.woken = self.woken.saturating_sub(1);
        if self.leader == Some(nap.ticket) {
            self.leader = None;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A sleeper a broadcast covers, woken before the broadcast arrives,
    /// leaves a wakeup claimed after the broadcast to the sleeper it was
    /// claimed for.
    #[test]
    fn a_covered_sleeper_leaves_a_later_permit_alone() {
        let parking = Parking::new();
        let mut sleepers = Sleepers::default();
        let clock = Clock::real();
        let covered = sleepers.lie_down(Wait::Forever, None, &clock).unwrap();
        let broadcast = sleepers.claim_all().expect("a sleeper to wake");
        let later = sleepers.lie_down(Wait::Forever, None, &clock).unwrap();
        let claimed = sleepers.claim(1);
        assert_eq!(claimed.count(), 1, "the later sleeper is idle");
        parking.unpark(claimed);

        parking.park(covered.generation, None); // returns: the broadcast covers it
        assert_eq!(lock(&parking.room).permits, 1, "the permit is left");
        parking.park(
            later.generation,
            Some(Instant::now() + Duration::from_secs(10)),
        );
        assert_eq!(lock(&parking.room).permits, 0, "the later sleeper took it");

        // The broadcast arriving now changes nothing for either.
        parking.unpark_all(broadcast);
        sleepers.get_up(&covered);
        sleepers.get_up(&later);
        assert_eq!(sleepers.idle(), 0);
    }

    /// Wakeups a broadcast overtook are dropped instead of waking a later
    /// sleeper that nobody claimed them for.
    #[test]
    fn overtaken_wakeups_are_dropped() {
        let parking = Parking::new();
        let mut sleepers = Sleepers::default();
        let clock = Clock::real();
        let first = sleepers.lie_down(Wait::Forever, None, &clock).unwrap();
        let claimed = sleepers.claim(1);
        let broadcast = sleepers.claim_all().expect("a sleeper to wake");
        parking.unpark_all(broadcast);
        parking.unpark(claimed); // late: the broadcast woke its sleeper
        assert_eq!(lock(&parking.room).permits, 0);
        parking.park(first.generation, None);
    }
}
