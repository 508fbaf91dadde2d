package workqueue

import (
	"container/heap"
	"math"
	"math/bits"
	"sync"
	"time"
	"weak"
)

// metricsBridge feeds a client-go MetricsProvider the metrics of one named
// queue, at the moments client-go's queue feeds them:
//
//   - adds +1, depth +1 when an item becomes dirty: an add that scheduled a
//     run (also while the item is being processed), or a delayed item
//     coming due while it is not queued;
//   - depth -1 and the queue duration (since the item became dirty) at a
//     get; the work duration (since the get) at a Done;
//   - retries +1 at every AddAfter / AddRateLimited before shutdown;
//   - the two "unfinished" gauges: client-go sets them from a goroutine
//     every 500 ms. There is no goroutine here: they are set after every
//     call on the queue, at every step of the queue's ManualClock, and by
//     UpdateUnfinishedWork; they stop moving at the shutdown.
//
// The library keeps the same metrics natively (Metrics, PrometheusText),
// but only as totals and snapshots, and a provider wants every event. So
// the bridge follows the queue's state in Go, as client-go's own metrics
// do (its addTimes and processingStartTimes maps): which items are queued,
// being processed, dirty while processed, or waiting for a delay. Every
// call that changes the queue holds the bridge's lock across its call into
// the library, and so does a single-item get that does not wait (Get and
// GetWithContext of a bridged queue wait on the queue's fd, then take
// without waiting), so the bridge sees the changes of each item in the
// library's order. (Off Linux, and for batch and priority gets, a get
// that waited records its items just after the hand-out: an add of one of
// them in between would be recorded first.) Delayed items come due inside the library; the
// bridge moves them at its next look at the clock (every call, every
// ManualClock step), before the call's own change, as the library does.
//
// On a ManualClock the values equal the library's exactly (the conformance
// scenarios of conformance/metrics/ check both). On the real clock the
// library and the bridge read the time at slightly different instants, so
// durations may differ by that much (microseconds), and a delayed item
// that comes due within that much of another change of it can be counted
// as if it came due on the other side of that change (a handful in the
// controller demo's 20,000 delayed adds).
type metricsBridge[T comparable] struct {
	mu    sync.Mutex
	clock *ManualClock // nil: the real clock
	base  time.Time

	depth      GaugeMetric
	adds       CounterMetric
	latency    HistogramMetric
	work       HistogramMetric
	unfinished SettableGaugeMetric
	longest    SettableGaugeMetric
	retries    CounterMetric

	phases   map[T]phase
	addTimes map[T]time.Duration
	starts   map[T]time.Duration
	delayed  map[T]waiting
	due      dueHeap[T] // delayed items by ready time (stale entries skipped)
	oldest   startHeap[T]
	seq      uint64

	// The sum of the start times of the items being processed, 128 bits.
	startsHi, startsLo uint64

	shutDown bool
	frozenAt time.Duration

	sub *clockSubscriber // keeps the ManualClock's hook alive
}

type phase uint8

// waiting is a delayed item's earliest ready time and highest priority.
type waiting struct {
	ready    time.Duration
	priority int32
}

const (
	phaseNone phase = iota
	phaseReady
	phaseProcessing
	phaseProcessingDirty // processing, and added again meanwhile
)

func newMetricsBridge[T comparable](name string, provider MetricsProvider, clock *ManualClock) *metricsBridge[T] {
	provider = providerFor(name, provider)
	if provider == nil {
		return nil
	}
	m := &metricsBridge[T]{
		clock:      clock,
		base:       time.Now(),
		depth:      provider.NewDepthMetric(name),
		adds:       provider.NewAddsMetric(name),
		latency:    provider.NewLatencyMetric(name),
		work:       provider.NewWorkDurationMetric(name),
		unfinished: provider.NewUnfinishedWorkSecondsMetric(name),
		longest:    provider.NewLongestRunningProcessorSecondsMetric(name),
		retries:    provider.NewRetriesMetric(name),
		phases:     map[T]phase{},
		addTimes:   map[T]time.Duration{},
		starts:     map[T]time.Duration{},
		delayed:    map[T]waiting{},
	}
	if clock != nil {
		m.sub = &clockSubscriber{fn: m.clockMoved}
		clock.subscribe(m.sub)
	}
	return m
}

func (m *metricsBridge[T]) now() time.Duration {
	if m.clock != nil {
		return m.clock.Now()
	}
	return time.Since(m.base)
}

// begin locks the bridge before a change: the items that came due move
// first, as in the library. It returns the time.
func (m *metricsBridge[T]) begin() time.Duration {
	m.mu.Lock()
	now := m.now()
	m.promote(now)
	return now
}

// end sets the unfinished-work gauges and unlocks.
func (m *metricsBridge[T]) end(now time.Duration) {
	m.refresh(now)
	m.mu.Unlock()
}

// lock locks the bridge without moving the items that came due: for the
// moments the library has not looked at the clock just before (a get's
// hand-out, read after its call; a gauge refresh). The real clock there
// reads later than the library's last look, and a bridge that moved an
// item before the library did would count a later add of it twice.
func (m *metricsBridge[T]) lock() time.Duration {
	m.mu.Lock()
	return m.now()
}

// holdForGet begins a change (nil-safe) for a get that does not wait, to
// be recorded with record and released with end: the items that came due
// move first, at a time read before the library's call, as for any other
// change. False when there is no bridge or the get may wait (it cannot
// hold the lock while waiting: off Linux, a waiting get records its item
// just after the hand-out).
func (m *metricsBridge[T]) holdForGet(timeout int64) bool {
	if m == nil || timeout != noWait {
		return false
	}
	m.begin()
	return true
}

// clockMoved runs at every step of the ManualClock (the library moves the
// items that came due at the step too).
func (m *metricsBridge[T]) clockMoved() {
	m.end(m.begin())
}

// update refreshes the gauges now (nil-safe).
func (m *metricsBridge[T]) update() {
	if m != nil {
		m.end(m.lock())
	}
}

// promote moves the delayed items whose ready time has come, in ready-time
// order, like adds at now.
func (m *metricsBridge[T]) promote(now time.Duration) {
	for len(m.due) > 0 && m.due[0].ready <= now {
		e := heap.Pop(&m.due).(dueEntry[T])
		if w, ok := m.delayed[e.item]; ok && w.ready == e.ready {
			delete(m.delayed, e.item)
			m.becameDirty(e.item, now)
		}
	}
}

// becameDirty is the library's add of item at now: it counts when it
// scheduled a run.
func (m *metricsBridge[T]) becameDirty(item T, now time.Duration) {
	switch m.phases[item] {
	case phaseNone:
		m.phases[item] = phaseReady
	case phaseProcessing:
		m.phases[item] = phaseProcessingDirty
	default:
		return // collapsed into the pending run
	}
	m.counted(item, now)
}

// counted records an add that scheduled a run.
func (m *metricsBridge[T]) counted(item T, now time.Duration) {
	m.adds.Inc()
	m.depth.Inc()
	if _, ok := m.addTimes[item]; !ok {
		m.addTimes[item] = now
	}
}

// added records an add the library reported: added is whether it
// scheduled a run.
func (m *metricsBridge[T]) added(item T, added bool, now time.Duration) {
	if !added {
		return
	}
	if m.phases[item] == phaseProcessing {
		m.phases[item] = phaseProcessingDirty
	} else {
		m.phases[item] = phaseReady
	}
	m.counted(item, now)
}

// reported records an add or AddAfter the library answered with st and
// added, and unlocks (the end of a change begun with begin).
func (m *metricsBridge[T]) reported(item T, after bool, delay time.Duration, priority int32, added bool, st status, now time.Duration) {
	if st == stOK {
		if after {
			m.addedAfter(item, delay, priority, added, now)
		} else {
			m.added(item, added, now)
		}
	}
	m.end(now)
}

// predictAdd is what an add of item would do now (for calls whose result
// the library does not report per item).
func (m *metricsBridge[T]) predictAdd(item T) bool {
	if m.shutDown {
		return false
	}
	p := m.phases[item]
	return p == phaseNone || p == phaseProcessing
}

// addedAfter records an AddAfter of item by delay at priority: a retry; an
// add at once for delay <= 0, else a ready time (the earliest time and the
// highest priority win). result is what the library reported (it added
// the item, set its ready time or raised its priority).
func (m *metricsBridge[T]) addedAfter(item T, delay time.Duration, priority int32, result bool, now time.Duration) {
	if m.shutDown {
		return
	}
	m.retries.Inc()
	if delay <= 0 {
		m.added(item, result, now)
		return
	}
	// The ready time is read after the library's call, so it is never
	// earlier than the library's: the bridge never moves an item first.
	ready := m.now() + delay
	if old, ok := m.delayed[item]; ok {
		if old.ready <= ready && old.priority >= priority {
			if !result {
				return // the library changed nothing either
			}
			// The library had no ready time left: the item came due there
			// before the bridge looked. Move it now.
			delete(m.delayed, item)
			m.becameDirty(item, now)
		} else {
			m.delayed[item] = waiting{min(old.ready, ready), max(old.priority, priority)}
			if ready < old.ready {
				m.pushDue(item, ready)
			}
			return
		}
	}
	m.delayed[item] = waiting{ready, priority}
	m.pushDue(item, ready)
}

func (m *metricsBridge[T]) pushDue(item T, ready time.Duration) {
	m.seq++
	heap.Push(&m.due, dueEntry[T]{ready: ready, seq: m.seq, item: item})
	if len(m.due) > 2*len(m.delayed)+64 {
		m.due = m.due.compact(m.delayed)
	}
}

// got records that the library handed item out.
func (m *metricsBridge[T]) got(item T) {
	now := m.lock()
	m.record(item, now)
	m.end(now)
}

// record is got with the bridge locked: for a get that held the lock
// across its call into the library, so that no other call's change of
// item comes between the hand-out and its record.
func (m *metricsBridge[T]) record(item T, now time.Duration) {
	if m.phases[item] != phaseReady {
		if _, ok := m.delayed[item]; ok {
			// It came due in the library first.
			delete(m.delayed, item)
			m.becameDirty(item, now)
		}
	}
	m.depth.Dec()
	m.phases[item] = phaseProcessing
	if _, ok := m.starts[item]; !ok {
		m.addStart(item, now)
	}
	if at, ok := m.addTimes[item]; ok {
		m.latency.Observe(seconds(now - at))
		delete(m.addTimes, item)
	}
}

// gotMany is got for each item.
func (m *metricsBridge[T]) gotMany(items []T) {
	for _, it := range items {
		m.got(it)
	}
}

// done records a Done of item; was is whether it was being processed.
func (m *metricsBridge[T]) done(item T, was bool, now time.Duration) {
	if !was {
		return
	}
	if start, ok := m.starts[item]; ok {
		m.work.Observe(seconds(now - start))
		m.removeStart(item, start)
	}
	if m.phases[item] == phaseProcessingDirty {
		m.phases[item] = phaseReady
	} else {
		delete(m.phases, item)
	}
}

// shutdown records the shutdown: delayed items are dropped, the gauges
// stop moving.
func (m *metricsBridge[T]) shutdown(now time.Duration) {
	if m.shutDown {
		return
	}
	m.refresh(now)
	m.shutDown = true
	m.frozenAt = now
	clear(m.delayed)
	m.due = nil
}

// shutdownNow records a shutdown about to happen in the library (nil-safe).
// A drain must not hold the bridge's lock while it waits, so the bridge
// records it first: an AddAfter racing the drain's shutdown may then be a
// retry for the library and not for the provider.
func (m *metricsBridge[T]) shutdownNow() {
	if m != nil {
		now := m.begin()
		m.shutdown(now)
		m.end(now)
	}
}

func (m *metricsBridge[T]) addStart(item T, at time.Duration) {
	m.starts[item] = at
	var carry uint64
	m.startsLo, carry = bits.Add64(m.startsLo, uint64(at), 0)
	m.startsHi += carry
	m.seq++
	heap.Push(&m.oldest, startEntry[T]{at: at, seq: m.seq, item: item})
}

func (m *metricsBridge[T]) removeStart(item T, at time.Duration) {
	delete(m.starts, item)
	var borrow uint64
	m.startsLo, borrow = bits.Sub64(m.startsLo, uint64(at), 0)
	m.startsHi -= borrow
	if len(m.oldest) > 2*len(m.starts)+64 {
		m.oldest = m.oldest.compact(m.starts)
	}
}

// refresh sets the unfinished-work gauges: the summed and the largest age
// of the items being processed, at now (at the shutdown, after it).
func (m *metricsBridge[T]) refresh(now time.Duration) {
	if m.shutDown {
		now = m.frozenAt
	}
	for len(m.oldest) > 0 {
		top := m.oldest[0]
		if at, ok := m.starts[top.item]; ok && at == top.at {
			break
		}
		heap.Pop(&m.oldest)
	}
	var total, longest float64
	if n := uint64(len(m.starts)); n > 0 {
		// n·now − Σ starts, in 128 bits.
		hi, lo := bits.Mul64(n, uint64(now))
		lo, borrow := bits.Sub64(lo, m.startsLo, 0)
		hi, _ = bits.Sub64(hi, m.startsHi, borrow)
		if hi>>63 == 0 { // a clock set back would make it negative
			total = (float64(hi)*math.Exp2(64) + float64(lo)) / 1e9
		}
		if age := now - m.oldest[0].at; age > 0 {
			longest = age.Seconds()
		}
	}
	m.unfinished.Set(total)
	m.longest.Set(longest)
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

// ---- heaps -------------------------------------------------------------

type dueEntry[T comparable] struct {
	ready time.Duration
	seq   uint64
	item  T
}

type dueHeap[T comparable] []dueEntry[T]

func (h dueHeap[T]) Len() int { return len(h) }
func (h dueHeap[T]) Less(i, j int) bool {
	if h[i].ready != h[j].ready {
		return h[i].ready < h[j].ready
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap[T]) Push(x any)   { *h = append(*h, x.(dueEntry[T])) }
func (h *dueHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// compact keeps the live entries.
func (h dueHeap[T]) compact(live map[T]waiting) dueHeap[T] {
	out := make(dueHeap[T], 0, len(live))
	for _, e := range h {
		if w, ok := live[e.item]; ok && w.ready == e.ready {
			out = append(out, e)
		}
	}
	heap.Init(&out)
	return out
}

type startEntry[T comparable] struct {
	at   time.Duration
	seq  uint64
	item T
}

type startHeap[T comparable] []startEntry[T]

func (h startHeap[T]) Len() int { return len(h) }
func (h startHeap[T]) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h startHeap[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *startHeap[T]) Push(x any)   { *h = append(*h, x.(startEntry[T])) }
func (h *startHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (h startHeap[T]) compact(live map[T]time.Duration) startHeap[T] {
	out := make(startHeap[T], 0, len(live))
	for _, e := range h {
		if at, ok := live[e.item]; ok && at == e.at {
			out = append(out, e)
		}
	}
	heap.Init(&out)
	return out
}

// ---- ManualClock hooks -----------------------------------------------------

// clockSubscriber is called after every move of a ManualClock; the clock
// holds it weakly, its owner strongly.
type clockSubscriber struct {
	fn func()
}

// subscribe calls s.fn after every Step and Set, while s is reachable.
func (c *ManualClock) subscribe(s *clockSubscriber) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	live := c.subs[:0]
	for _, w := range c.subs {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	c.subs = append(live, weak.Make(s))
}

// notify runs the hooks of the subscribers still alive.
func (c *ManualClock) notify() {
	c.subMu.Lock()
	if len(c.subs) == 0 {
		c.subMu.Unlock()
		return
	}
	subs := make([]*clockSubscriber, 0, len(c.subs))
	for _, w := range c.subs {
		if s := w.Value(); s != nil {
			subs = append(subs, s)
		}
	}
	c.subMu.Unlock()
	for _, s := range subs {
		s.fn()
	}
}
