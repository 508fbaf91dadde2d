//! The peer: a faithful, naive port of client-go's `workqueue.Type`
//! (`queue.go`) — one mutex over a FIFO, a `dirty` set and a `processing`
//! set, one condition variable, `std`'s default SipHash — to show what the
//! core's design buys over the straightforward translation.
//!
//! Like client-go, `add` signals the condition variable for every queued
//! key, and `done` signals when it requeues a key or the processing set
//! empties, whether or not anyone waits; with `std`'s futex condition
//! variable each such signal is a system call. client-go has no batch
//! calls: the two here are the obvious ones (one lock per batch, one
//! broadcast per batch that queued anything).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Condvar, Mutex, MutexGuard};

pub struct NaiveQueue<K> {
    state: Mutex<State<K>>,
    cond: Condvar,
}

struct State<K> {
    queue: VecDeque<K>,
    dirty: HashSet<K>,
    processing: HashSet<K>,
    shutting_down: bool,
}

impl<K: Hash + Eq + Clone> Default for NaiveQueue<K> {
    fn default() -> Self {
        NaiveQueue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                shutting_down: false,
            }),
            cond: Condvar::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> State<K> {
    /// client-go's `Add` under the lock; true when the key was queued.
    fn add(&mut self, key: K) -> bool {
        if self.shutting_down || self.dirty.contains(&key) {
            return false;
        }
        self.dirty.insert(key.clone());
        if self.processing.contains(&key) {
            return false;
        }
        self.queue.push_back(key);
        true
    }

    fn pop(&mut self) -> Option<K> {
        let key = self.queue.pop_front()?;
        self.processing.insert(key.clone());
        self.dirty.remove(&key);
        Some(key)
    }
}

impl<K: Hash + Eq + Clone> NaiveQueue<K> {
    fn lock(&self) -> MutexGuard<'_, State<K>> {
        self.state
            .lock()
            .expect("bench never panics under the lock")
    }

    pub fn add(&self, key: K) {
        let mut st = self.lock();
        if st.add(key) {
            self.cond.notify_one();
        }
    }

    /// Blocks for a key; `None` once shut down and empty.
    pub fn get(&self) -> Option<K> {
        let mut st = self.lock();
        while st.queue.is_empty() && !st.shutting_down {
            st = self.cond.wait(st).expect("not poisoned");
        }
        st.pop()
    }

    pub fn done(&self, key: &K) {
        let mut st = self.lock();
        st.processing.remove(key);
        if st.dirty.contains(key) {
            st.queue.push_back(key.clone());
            self.cond.notify_one();
        } else if st.processing.is_empty() {
            self.cond.notify_one();
        }
    }

    pub fn shutdown(&self) {
        self.lock().shutting_down = true;
        self.cond.notify_all();
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn add_batch(&self, keys: impl IntoIterator<Item = K>) {
        let mut st = self.lock();
        let mut queued = false;
        for key in keys {
            queued |= st.add(key);
        }
        if queued {
            self.cond.notify_all();
        }
    }

    /// Blocks for at least one key, then takes up to `max`; false once shut
    /// down and empty.
    pub fn get_batch_into(&self, out: &mut Vec<K>, max: usize) -> bool {
        let mut st = self.lock();
        while st.queue.is_empty() && !st.shutting_down {
            st = self.cond.wait(st).expect("not poisoned");
        }
        let before = out.len();
        while out.len() - before < max {
            match st.pop() {
                Some(key) => out.push(key),
                None => break,
            }
        }
        out.len() > before
    }
}
