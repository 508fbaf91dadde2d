package workqueue

// Done then Get in one call into the library: a worker's "done with this
// item, the next one please". Done takes effect before the get, exactly as
// the two calls would; only the crossing is saved when an item is ready
// (the crossings are most of a per-item cycle's cost from Go).

// DoneAndGet is Done(item) followed by Get: it marks item as done and
// returns the next item (blocking like Get when none is ready). When an
// item is ready the two take one call into the library instead of two.
func (q *Typed[T]) DoneAndGet(item T) (next T, shutdown bool) {
	if q.submitDone(item) {
		return q.Get() // the get applies the done first: one call still
	}
	next, ok, shutdown := q.doneTryGet(item)
	if ok || shutdown {
		return next, shutdown
	}
	return q.Get()
}

// doneTryGet is Done(item), then a get that does not wait: ok is false
// when no item was handed out (none ready, or item was not interned).
func (q *Typed[T]) doneTryGet(item T) (next T, ok, shutdown bool) {
	h := q.h
	if !h.enter() {
		return next, false, true
	}
	defer h.exit()
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, found := sh.lookup(item, hash)
	if !found {
		sh.mu.Unlock()
		return next, false, false // nothing to finish: the caller gets
	}
	if q.m != nil {
		// The bridge's lock comes first (as in TryDone); take it again.
		sh.mu.Unlock()
		now := q.m.begin()
		sh.mu.Lock()
		if id, found = sh.lookup(item, hash); !found {
			sh.mu.Unlock()
			q.m.end(now)
			return next, false, false
		}
		was, holds, nextID, getSt, st := queueDoneHoldsTryGet(h.ptr, id)
		if st == stOK && !holds {
			sh.retire(id)
		}
		sh.mu.Unlock()
		if st == stOK {
			q.m.done(item, was, now)
		}
		q.m.end(now)
		check("wq_queue_done_holds_try_get", st)
		return q.took(nextID, getSt)
	}
	_, holds, nextID, getSt, st := queueDoneHoldsTryGet(h.ptr, id)
	if st == stOK && !holds {
		sh.retire(id)
	}
	sh.mu.Unlock()
	check("wq_queue_done_holds_try_get", st)
	return q.took(nextID, getSt)
}

// took resolves the key a fused get handed out.
func (q *Typed[T]) took(id uint64, getSt status) (next T, ok, shutdown bool) {
	switch getSt {
	case stOK:
		if key, found := q.ids.keyOf(id); found {
			if q.m != nil {
				q.m.got(key)
			}
			return key, true, false
		}
		// Its entry is gone (see getOne).
	case stShutdown:
		return next, false, true
	case stTimeout:
	default:
		check("wq_queue_done_holds_try_get", getSt)
	}
	return next, false, false
}

// DoneAndGet is Done(key) followed by Get, in one call into the library
// when a key is ready (see Typed.DoneAndGet).
func (q *RawQueue) DoneAndGet(key uint64) (next uint64, shutdown bool) {
	if q.h.submit(submitDone, key, 0) {
		return q.Get() // the get applies the done first: one call still
	}
	next, ok, shutdown := q.doneTryGet(key)
	if ok || shutdown {
		return next, shutdown
	}
	return q.Get()
}

func (q *RawQueue) doneTryGet(key uint64) (next uint64, ok, shutdown bool) {
	h := q.h
	if !h.enter() {
		return 0, false, true
	}
	var was bool
	var getSt, st status
	if q.m != nil {
		now := q.m.begin()
		was, _, next, getSt, st = queueDoneHoldsTryGet(h.ptr, key)
		if st == stOK {
			q.m.done(key, was, now)
		}
		q.m.end(now)
	} else {
		_, _, next, getSt, st = queueDoneHoldsTryGet(h.ptr, key)
	}
	h.exit()
	check("wq_queue_done_holds_try_get", st)
	switch getSt {
	case stOK:
		if q.m != nil {
			q.m.got(next)
		}
		return next, true, false
	case stShutdown:
		return 0, false, true
	case stTimeout:
	default:
		check("wq_queue_done_holds_try_get", getSt)
	}
	return 0, false, false
}

// doneTryGetter is a queue of this package (RunWorkers fuses its Done
// with the next get).
type doneTryGetter[T comparable] interface {
	doneTryGet(item T) (next T, ok, shutdown bool)
}

var (
	_ doneTryGetter[string] = (*Typed[string])(nil)
	_ doneTryGetter[uint64] = (*RawQueue)(nil)
)
