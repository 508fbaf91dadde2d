//! The scheduling queue's state machine, without locks or waiting: where
//! each item is, and what every call does to it. `SchedulingQueue` wraps
//! it in a lock.
//!
//! An item is in exactly one place ([`Place`]): the active queue, the
//! backoff queue, the unschedulable pool, or in flight (popped, not yet
//! done or requeued). One map from key to item says where, with the slot
//! of the item's entry in that sub-queue: backoff and the pool remove an
//! entry by its slot; the active queue removes lazily and asks the map
//! whether an entry's slot is still the item's (see `active.rs`).

use super::active::{ActiveQueue, ActiveSlot};
use super::backoff::{backoff_duration, BackoffKind, BackoffQueue, BackoffSlot};
use super::config::Settings;
use super::unschedulable::{ParkedSlot, UnschedulablePool};
use super::Place;
use crate::clock::Timestamp;
use crate::hash::FastHashMap;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::hash::Hash;

struct Item {
    priority: i32,
    /// Pops so far; drives the backoff.
    attempts: u32,
    at: At,
}

#[derive(Clone, Copy)]
enum At {
    Active(ActiveSlot),
    Backoff(BackoffKind, BackoffSlot),
    Unschedulable {
        slot: ParkedSlot,
        /// When its backoff ends: a move before then sends it to backoff.
        backoff_until: Timestamp,
    },
    InFlight {
        /// The number of move events when it was popped.
        moves_seen: u64,
        /// Updated (or added again) while in flight.
        updated: bool,
        /// Deleted while in flight: dropped at its requeue.
        deleted: bool,
    },
}

/// How an in-flight item's attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An error: wait out the backoff, then retry.
    Error,
    /// Rejected: park until something changes.
    Unschedulable,
}

/// The sub-queues, apart from the item map so both can be borrowed at once.
struct Queues<K> {
    active: ActiveQueue<K>,
    backoff: BackoffQueue<K>,
    unschedulable: UnschedulablePool<K>,
    /// Arrival and entry numbers: unique, increasing.
    next_entry: u64,
}

impl<K> Queues<K> {
    fn entry(&mut self) -> u64 {
        let entry = self.next_entry;
        self.next_entry += 1;
        entry
    }

    /// Appends the item to the active queue, as the newest arrival.
    fn activate(&mut self, item: &mut Item, key: K) -> Place {
        let arrival = self.entry();
        item.at = At::Active(self.active.insert(item.priority, arrival, key));
        Place::Active
    }

    /// Sends back a rejected item whose backoff ends at `ready`: to backoff
    /// while it lasts, else to the active queue (kube-scheduler's
    /// `queueAfterBackoff`).
    fn send_back(&mut self, item: &mut Item, key: K, ready: Timestamp, now: Timestamp) -> Place {
        if ready > now {
            let entry = self.entry();
            let kind = BackoffKind::Rejected;
            let slot = self.backoff.insert(kind, ready, item.priority, entry, key);
            item.at = At::Backoff(kind, slot);
            Place::Backoff
        } else {
            self.activate(item, key)
        }
    }
}

/// Whether `item` is live in the active queue at `slot`.
fn is_active_in(item: Option<&Item>, slot: ActiveSlot) -> bool {
    matches!(item, Some(Item { at: At::Active(live), .. }) if *live == slot)
}

/// Hands an item out: in flight, one more attempt.
fn start_flight(item: &mut Item, moves_seen: u64) {
    item.attempts = item.attempts.saturating_add(1);
    item.at = At::InFlight {
        moves_seen,
        updated: false,
        deleted: false,
    };
}

/// [`SchedulingState::update`] of the item under `key`.
fn update_item<K: Clone>(
    queues: &mut Queues<K>,
    item: &mut Item,
    key: &K,
    priority: i32,
    now: impl FnOnce() -> Timestamp,
) -> Option<Place> {
    let changed = item.priority != priority;
    match item.at {
        At::Active(slot) => {
            if changed {
                // The old entry goes stale: the item's slot changes.
                queues.active.forget_one();
                item.at = At::Active(queues.active.insert(priority, slot.1, key.clone()));
            }
            item.priority = priority;
            Some(Place::Active)
        }
        At::Backoff(kind, slot) => {
            if changed {
                let key = queues.backoff.remove(kind, slot).expect("slot is live");
                let slot = queues.backoff.insert(kind, slot.0, priority, slot.2, key);
                item.at = At::Backoff(kind, slot);
            }
            item.priority = priority;
            Some(Place::Backoff)
        }
        At::Unschedulable {
            slot,
            backoff_until,
        } => {
            item.priority = priority;
            let key = queues.unschedulable.remove(slot).expect("slot is live");
            Some(queues.send_back(item, key, backoff_until, now()))
        }
        At::InFlight { deleted: true, .. } => None,
        At::InFlight {
            ref mut updated, ..
        } => {
            *updated = true;
            item.priority = priority;
            Some(Place::InFlight)
        }
    }
}

pub(crate) struct SchedulingState<K> {
    items: FastHashMap<K, Item>,
    queues: Queues<K>,
    in_flight: usize,
    /// Move events so far. An in-flight item that saw fewer at its pop
    /// missed one, and goes to backoff rather than park at its requeue.
    move_events: u64,
    moves_by_event: FastHashMap<String, u64>,
    settings: Settings,
}

impl<K: Hash + Eq + Clone> SchedulingState<K> {
    pub(crate) fn new(settings: Settings) -> Self {
        SchedulingState {
            items: FastHashMap::default(),
            queues: Queues {
                active: ActiveQueue::new(),
                backoff: BackoffQueue::new(),
                unschedulable: UnschedulablePool::new(),
                next_entry: 0,
            },
            in_flight: 0,
            move_events: 0,
            moves_by_event: FastHashMap::default(),
            settings,
        }
    }

    pub(crate) fn active_len(&self) -> usize {
        self.queues.active.len()
    }

    pub(crate) fn backoff_len(&self) -> usize {
        self.queues.backoff.len()
    }

    pub(crate) fn unschedulable_len(&self) -> usize {
        self.queues.unschedulable.len()
    }

    pub(crate) fn in_flight_len(&self) -> usize {
        self.in_flight
    }

    /// Items a pop could take right now.
    pub(crate) fn poppable_len(&self) -> usize {
        let early = if self.settings.pop_from_backoff {
            self.queues.backoff.rejected_len()
        } else {
            0
        };
        self.queues.active.len() + early
    }

    /// Whether any item waits for a time (a backoff or a flush).
    pub(crate) fn has_timed(&self) -> bool {
        !self.queues.backoff.is_empty() || !self.queues.unschedulable.is_empty()
    }

    /// The next time an item moves by itself: a backoff ends, or a parked
    /// item overstays.
    pub(crate) fn next_timed(&self) -> Option<Timestamp> {
        let ready = self.queues.backoff.next_ready();
        let flush = self
            .queues
            .unschedulable
            .next_flush(self.settings.max_unschedulable_stay);
        match (ready, flush) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves every item whose time has come, in the order their times came:
    /// ended backoffs to the active queue, overstayed parked items to
    /// backoff or active.
    pub(crate) fn promote(&mut self, now: Timestamp) {
        let max_stay = self.settings.max_unschedulable_stay;
        loop {
            let ready = self.queues.backoff.next_ready().filter(|t| *t <= now);
            let flush = self
                .queues
                .unschedulable
                .next_flush(max_stay)
                .filter(|t| *t <= now);
            let from_backoff = match (ready, flush) {
                (None, None) => return,
                (Some(r), Some(f)) => r <= f,
                (r, _) => r.is_some(),
            };
            if from_backoff {
                let key = self
                    .queues
                    .backoff
                    .pop_ready(now)
                    .expect("an item is ready");
                let item = self.items.get_mut(&key).expect("queued items are known");
                self.queues.activate(item, key);
            } else {
                let key = self
                    .queues
                    .unschedulable
                    .pop_overstayed(now, max_stay)
                    .expect("an item overstayed");
                let item = self.items.get_mut(&key).expect("queued items are known");
                let At::Unschedulable { backoff_until, .. } = item.at else {
                    unreachable!("a parked item's state says unschedulable")
                };
                self.queues.send_back(item, key, backoff_until, now);
            }
        }
    }

    /// A new key joins the active queue (true); a known key is updated
    /// (false). A key deleted while in flight is known again (true): it
    /// stays in flight, and a failure now brings it back. `now` is read
    /// only if a parked item moves.
    pub(crate) fn add(&mut self, key: K, priority: i32, now: impl FnOnce() -> Timestamp) -> bool {
        match self.items.entry(key) {
            Entry::Vacant(vacant) => {
                let key = vacant.key().clone();
                let mut item = Item {
                    priority,
                    attempts: 0,
                    at: At::Active((Reverse(priority), 0)),
                };
                self.queues.activate(&mut item, key);
                vacant.insert(item);
                true
            }
            Entry::Occupied(mut occupied) => {
                let item = occupied.get_mut();
                if let At::InFlight {
                    updated, deleted, ..
                } = &mut item.at
                {
                    if *deleted {
                        *deleted = false;
                        *updated = true;
                        item.priority = priority;
                        return true;
                    }
                }
                let key = occupied.key().clone();
                self.update(&key, priority, now);
                false
            }
        }
    }

    /// Sets the priority of a known item; a parked item leaves the pool
    /// (to backoff while its backoff lasts, else to active). Returns where
    /// the item is now, `None` for an unknown key. `now` is read only if a
    /// parked item moves.
    pub(crate) fn update(
        &mut self,
        key: &K,
        priority: i32,
        now: impl FnOnce() -> Timestamp,
    ) -> Option<Place> {
        let item = self.items.get_mut(key)?;
        let place = update_item(&mut self.queues, item, key, priority, now);
        self.compact_active();
        place
    }

    /// Drops the active queue's stale entries once they outnumber the
    /// live ones (see `active.rs`).
    fn compact_active(&mut self) {
        let items = &self.items;
        self.queues
            .active
            .compact_if_mostly_stale(|key, slot| is_active_in(items.get(key), slot));
    }

    /// Removes a queued item; an in-flight one is marked and dropped at its
    /// requeue. False for an unknown (or already deleted) key.
    pub(crate) fn delete(&mut self, key: &K) -> bool {
        let Some(item) = self.items.get_mut(key) else {
            return false;
        };
        match item.at {
            At::InFlight { deleted: true, .. } => return false,
            At::InFlight {
                ref mut deleted, ..
            } => {
                *deleted = true;
                return true;
            }
            At::Active(_) => {
                self.queues.active.forget_one();
            }
            At::Backoff(kind, slot) => {
                self.queues.backoff.remove(kind, slot);
            }
            At::Unschedulable { slot, .. } => {
                self.queues.unschedulable.remove(slot);
            }
        }
        self.items.remove(key);
        self.compact_active();
        true
    }

    /// Takes the head of the active queue or, when it is empty and
    /// pop-from-backoff is on, the rejected backoff item ready first. The
    /// item goes in flight and its attempt count grows.
    pub(crate) fn pop(&mut self) -> Option<(K, i32)> {
        let moves_seen = self.move_events;
        let items = &mut self.items;
        let popped = self
            .queues
            .active
            .pop(|key, slot| match items.get_mut(key) {
                Some(item) if is_active_in(Some(item), slot) => {
                    start_flight(item, moves_seen);
                    true
                }
                _ => false,
            });
        let popped = match popped {
            Some(popped) => popped,
            None if self.settings.pop_from_backoff => {
                let (key, priority) = self.queues.backoff.pop_earliest_rejected()?;
                let item = items.get_mut(&key).expect("queued items are known");
                start_flight(item, moves_seen);
                (key, priority)
            }
            None => return None,
        };
        self.in_flight += 1;
        Some(popped)
    }

    /// Ends an item's flight successfully: the queue forgets it.
    pub(crate) fn done(&mut self, key: &K) -> bool {
        match self.items.get(key) {
            Some(Item {
                at: At::InFlight { .. },
                ..
            }) => {
                self.items.remove(key);
                self.in_flight -= 1;
                true
            }
            _ => false,
        }
    }

    /// Ends an item's flight with a failure (kube-scheduler's
    /// `AddUnschedulableIfNotPresent`). Returns where it went, `None` when
    /// it was not in flight or was deleted meanwhile (then it is dropped).
    pub(crate) fn requeue(&mut self, key: &K, failure: Failure, now: Timestamp) -> Option<Place> {
        let item = self.items.get_mut(key)?;
        let At::InFlight {
            moves_seen,
            updated,
            deleted,
        } = item.at
        else {
            return None;
        };
        self.in_flight -= 1;
        if deleted {
            self.items.remove(key);
            return None;
        }
        let s = &self.settings;
        let ready = now + backoff_duration(item.attempts, s.initial_backoff, s.max_backoff);
        let missed_a_move = updated || moves_seen < self.move_events;
        let key = key.clone();
        let place = match failure {
            Failure::Error => {
                let entry = self.queues.entry();
                let kind = BackoffKind::Error;
                let slot = self
                    .queues
                    .backoff
                    .insert(kind, ready, item.priority, entry, key);
                item.at = At::Backoff(kind, slot);
                Place::Backoff
            }
            Failure::Unschedulable if missed_a_move => self.queues.send_back(item, key, ready, now),
            Failure::Unschedulable => {
                let entry = self.queues.entry();
                let slot = self.queues.unschedulable.insert(now, entry, key);
                item.at = At::Unschedulable {
                    slot,
                    backoff_until: ready,
                };
                Place::Unschedulable
            }
        };
        Some(place)
    }

    /// Moves every parked item to backoff (while its backoff lasts) or
    /// active, longest-parked first, and tells every in-flight item that a
    /// move event happened. Returns how many items moved.
    pub(crate) fn move_all(&mut self, event: &str, now: Timestamp) -> usize {
        self.move_events += 1;
        let mut moved = 0;
        for key in self.queues.unschedulable.drain() {
            let item = self.items.get_mut(&key).expect("parked items are known");
            let At::Unschedulable { backoff_until, .. } = item.at else {
                unreachable!("a parked item's state says unschedulable")
            };
            self.queues.send_back(item, key, backoff_until, now);
            moved += 1;
        }
        match self.moves_by_event.get_mut(event) {
            Some(count) => *count += moved as u64,
            None => {
                self.moves_by_event.insert(event.to_owned(), moved as u64);
            }
        }
        moved
    }

    /// Items moved by move events with this label, since the start.
    pub(crate) fn moves_by_event(&self, event: &str) -> u64 {
        self.moves_by_event.get(event).copied().unwrap_or(0)
    }

    /// Where a known item is; `None` for an unknown or deleted key.
    pub(crate) fn place(&self, key: &K) -> Option<Place> {
        let place = match self.items.get(key)?.at {
            At::Active(_) => Place::Active,
            At::Backoff(..) => Place::Backoff,
            At::Unschedulable { .. } => Place::Unschedulable,
            At::InFlight { deleted: true, .. } => return None,
            At::InFlight { .. } => Place::InFlight,
        };
        Some(place)
    }

    /// How many times a known item was popped; 0 for an unknown key.
    pub(crate) fn attempts(&self, key: &K) -> u32 {
        match self.place(key) {
            Some(_) => self.items[key].attempts,
            None => 0,
        }
    }
}
