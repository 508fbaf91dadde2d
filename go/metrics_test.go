package workqueue_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// TestMetrics is client-go's TestMetrics (util/workqueue/metrics_test.go)
// step by step, on the manual clock, with a MetricsProvider: the queue
// feeds the provider the values client-go's queue does, at the same calls.
// Where client-go waits for its 500 ms ticker to set the two "unfinished"
// gauges, the step of the manual clock sets them here.
func TestMetrics(t *testing.T) {
	mp := &testProvider{}
	c := workqueue.NewManualClock()
	q := workqueue.NewWithConfig(workqueue.QueueConfig{
		Name:            uniqueName(subjectSpec{name: "test"}),
		Clock:           c,
		MetricsProvider: mp,
	})
	defer q.ShutDown()

	q.Add("foo")
	if e, a := int64(1), mp.adds.count(); e != a {
		t.Errorf("adds: expected %v, got %v", e, a)
	}
	if e, a := int64(1), mp.depth.count(); e != a {
		t.Errorf("depth: expected %v, got %v", e, a)
	}

	c.Step(50 * time.Microsecond)

	// Start processing
	i, _ := q.Get()
	if i != "foo" {
		t.Errorf("Expected %v, got %v", "foo", i)
	}
	if last, _, n := mp.latency.observations(); last != 5e-05 || n != 1 {
		t.Errorf("latency: expected 5e-05 once, got %v (%d observations)", last, n)
	}

	// Add it back while processing; multiple adds of the same item are
	// de-duped.
	q.Add(i)
	q.Add(i)
	q.Add(i)
	q.Add(i)
	q.Add(i)
	if e, a := int64(2), mp.adds.count(); e != a {
		t.Errorf("adds: expected %v, got %v", e, a)
	}
	// One thing remains in the queue
	if e, a := int64(1), mp.depth.count(); e != a {
		t.Errorf("depth: expected %v, got %v", e, a)
	}

	c.Step(25 * time.Microsecond)

	// Finish it up
	q.Done(i)
	if last, _, n := mp.duration.observations(); last != 2.5e-05 || n != 1 {
		t.Errorf("work duration: expected 2.5e-05 once, got %v (%d observations)", last, n)
	}
	// One thing remains in the queue
	if e, a := int64(1), mp.depth.count(); e != a {
		t.Errorf("depth: expected %v, got %v", e, a)
	}

	// It should be back on the queue
	i, _ = q.Get()
	if i != "foo" {
		t.Errorf("Expected %v, got %v", "foo", i)
	}
	if last, _, n := mp.latency.observations(); last != 2.5e-05 || n != 2 {
		t.Errorf("latency: expected 2.5e-05, 2 observations, got %v (%d)", last, n)
	}

	// The gauges move with the clock.
	c.Step(time.Millisecond)
	if e, a := .001, mp.unfinished.value(); e != a {
		t.Errorf("unfinished: expected %v, got %v", e, a)
	}
	if e, a := .001, mp.longest.value(); e != a {
		t.Errorf("longest: expected %v, got %v", e, a)
	}

	// Finish that one up
	q.Done(i)
	if last, _, n := mp.duration.observations(); last != .001 || n != 2 {
		t.Errorf("work duration: expected .001, 2 observations, got %v (%d)", last, n)
	}
	if mp.unfinished.value() != 0 || mp.longest.value() != 0 {
		t.Errorf("nothing is being processed: unfinished %v, longest %v", mp.unfinished.value(), mp.longest.value())
	}
	if len(mp.names) != 1 || !strings.HasPrefix(mp.names[0], "test-") {
		t.Errorf("the provider made metrics for %q", mp.names)
	}

	// The library's own metrics agree.
	m, ok := q.Metrics()
	if !ok {
		t.Fatal("a named queue keeps metrics")
	}
	if m.Adds != 2 || m.Depth != 0 || m.QueueDuration.Count != 2 || m.WorkDuration.Count != 2 ||
		m.WorkDuration.Sum != 0.001025 || m.Retries != 0 {
		t.Errorf("library metrics: %+v", m)
	}
}

// TestMetricShutdown is client-go's TestMetricShutdown: after shutdown the
// gauges no longer move with the clock.
func TestMetricShutdown(t *testing.T) {
	mp := &testProvider{}
	c := workqueue.NewManualClock()
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{
		Name: uniqueName(subjectSpec{name: "shutdown"}), Clock: c, MetricsProvider: mp,
	})
	q.Add("a")
	q.Get()
	c.Step(time.Millisecond)
	if mp.unfinished.value() != .001 {
		t.Fatalf("unfinished %v before shutdown", mp.unfinished.value())
	}
	q.ShutDown()
	c.Step(time.Hour)
	if mp.unfinished.value() != .001 || mp.longest.value() != .001 {
		t.Errorf("unfinished %v, longest %v moved after shutdown", mp.unfinished.value(), mp.longest.value())
	}
	if m, _ := q.Metrics(); m.UnfinishedWorkSeconds != .001 {
		t.Errorf("library: unfinished %v after shutdown", m.UnfinishedWorkSeconds)
	}
}

// TestMetricsNeedAName: unnamed queues keep no metrics and call no
// provider (client-go's rule).
func TestMetricsNeedAName(t *testing.T) {
	mp := &testProvider{}
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{MetricsProvider: mp})
	defer q.Close()
	q.Add("a")
	if _, ok := q.Metrics(); ok {
		t.Error("an unnamed queue has metrics")
	}
	if len(mp.names) != 0 || mp.adds.count() != 0 {
		t.Error("an unnamed queue fed the provider")
	}
	raw := workqueue.NewRawQueue()
	defer raw.Close()
	if _, ok := raw.Metrics(); ok {
		t.Error("an unnamed RawQueue has metrics")
	}
	named := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{Name: uniqueName(subjectSpec{name: "closed"})})
	named.Close()
	if _, ok := named.Metrics(); ok {
		t.Error("a closed queue has metrics")
	}
}

// TestMetricsRealClock: on the real clock the provider sees the same
// counts as the library and durations close to the library's.
func TestMetricsRealClock(t *testing.T) {
	mp := &testProvider{}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[int](time.Millisecond, 10*time.Millisecond),
		workqueue.TypedRateLimitingQueueConfig[int]{Name: uniqueName(subjectSpec{name: "real"}), MetricsProvider: mp})
	defer q.Close()
	const workers, items = 4, 2000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it, down := q.Get()
				if down {
					return
				}
				if it%10 == 0 && q.NumRequeues(it) < 2 {
					q.AddRateLimited(it)
				} else {
					q.Forget(it)
				}
				q.Done(it)
			}
		}()
	}
	for i := 0; i < items; i++ {
		q.Add(i)
		if i%7 == 0 {
			q.AddAfter(i+items, time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for q.Len()+q.ProcessingLen()+q.DelayedLen() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	q.ShutDownWithDrain()
	wg.Wait()
	if workqueue.Submitted(q) != 0 {
		t.Error("a queue with a metrics provider submitted (its bridge needs each add's result)")
	}
	m, _ := q.Metrics()
	_, qs, qc := mp.latency.observations()
	_, ws, wc := mp.duration.observations()
	if mp.adds.count() != int64(m.Adds) || mp.depth.count() != m.Depth || mp.retries.count() != int64(m.Retries) ||
		qc != int(m.QueueDuration.Count) || wc != int(m.WorkDuration.Count) {
		t.Errorf("provider adds %d depth %d retries %d queue %d work %d; library %+v",
			mp.adds.count(), mp.depth.count(), mp.retries.count(), qc, wc, m)
	}
	if m.Depth != 0 || m.Adds < items {
		t.Errorf("library metrics after the drain: %+v", m)
	}
	// Durations are read at slightly different instants.
	for _, d := range []struct {
		what      string
		got, want float64
		n         uint64
	}{{"queue", qs, m.QueueDuration.Sum, m.QueueDuration.Count}, {"work", ws, m.WorkDuration.Sum, m.WorkDuration.Count}} {
		if diff := d.got - d.want; diff > 1e-3*float64(d.n)+0.05 || diff < -1e-3*float64(d.n)-0.05 {
			t.Errorf("%s duration sum: provider %v, library %v", d.what, d.got, d.want)
		}
	}
}

// TestSetProvider: a named queue without a provider of its own uses the
// global one (once set). The global provider outlives the test, so the
// test runs in a child process of its own.
func TestSetProvider(t *testing.T) {
	if os.Getenv("WQ_TEST_SET_PROVIDER") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSetProvider$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WQ_TEST_SET_PROVIDER=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	mp := &testProvider{}
	workqueue.SetProvider(mp)
	workqueue.SetProvider(&testProvider{}) // only the first call counts
	name := uniqueName(subjectSpec{name: "global"})
	q := workqueue.NewTyped[string]() // unnamed: no metrics
	q.Add("x")
	q.Close()
	q = workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: name})
	defer q.Close()
	q.Add("x")
	if mp.adds.count() != 1 || len(mp.names) != 1 || mp.names[0] != name {
		t.Errorf("global provider: adds %d, names %q", mp.adds.count(), mp.names)
	}
}

// TestPrometheusText: the text has every family for a named queue, with
// its name label and client-go's buckets, and the scheduling queue's
// sub-queue sizes.
func TestPrometheusText(t *testing.T) {
	c := workqueue.NewManualClock()
	name := uniqueName(subjectSpec{name: "prom"})
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: name, Clock: c})
	defer q.Close()
	q.AddWithPriority("a", 3)
	q.Add("b")
	q.AddAfter("c", time.Second)
	c.Step(time.Millisecond)
	it, _ := q.Get()
	c.Step(time.Millisecond)
	q.Done(it)
	sq, err := workqueue.NewSchedulingQueue[string](workqueue.SchedulingQueueConfig{Name: name + "-sched", Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	sq.Add("p", 1)

	text := workqueue.PrometheusText()
	label := fmt.Sprintf(`name=%q`, name)
	for _, want := range []string{
		"# TYPE workqueue_depth gauge",
		"workqueue_depth{" + label + "} 1",
		"workqueue_adds_total{" + label + "} 2",
		"workqueue_retries_total{" + label + "} 1",
		"workqueue_queue_duration_seconds_bucket{" + label + `,le="1e-08"} 0`,
		"workqueue_queue_duration_seconds_bucket{" + label + `,le="0.001"} 1`,
		"workqueue_queue_duration_seconds_count{" + label + "} 1",
		"workqueue_work_duration_seconds_sum{" + label + "} 0.001",
		"workqueue_unfinished_work_seconds{" + label + "} 0",
		"workqueue_longest_running_processor_seconds{" + label + "} 0",
		"workqueue_depth_by_priority{" + label + `,priority="0"} 1`,
		fmt.Sprintf(`workqueue_scheduling_pending_items{name=%q,queue="active"} 1`, name+"-sched"),
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("PrometheusText lacks %q", want)
		}
	}
	if workqueue.MetricsBucketBounds[0] != 1e-8 || workqueue.MetricsBucketBounds[workqueue.MetricsBuckets-1] != 10 {
		t.Errorf("bucket bounds %v", workqueue.MetricsBucketBounds)
	}
	m, _ := q.Metrics()
	if cum := m.QueueDuration.Cumulative(); cum[workqueue.MetricsBuckets-1] != 1 || cum[4] != 0 || cum[5] != 1 {
		t.Errorf("cumulative buckets %v", cum)
	}
}

// TestMetricsDepthByPriority: Metrics has the ready items per priority,
// highest first, for at most MetricsPriorities priorities, and the rest
// summed in DepthOtherPriorities, as PrometheusText's priority="other".
func TestMetricsDepthByPriority(t *testing.T) {
	name := uniqueName(subjectSpec{name: "priorities"})
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[int]{Name: name, Clock: workqueue.NewManualClock()})
	defer q.Close()
	if m, ok := q.Metrics(); !ok || m.DepthByPriority != nil || m.DepthOtherPriorities != 0 {
		t.Errorf("empty queue: %v, %v, %v", ok, m.DepthByPriority, m.DepthOtherPriorities)
	}

	// An item being processed is not ready.
	q.AddWithPriority(1, 5)
	q.AddWithPriority(2, 5)
	q.AddWithPriority(3, -1)
	q.AddWithPriority(4, 9)
	if item, _ := q.Get(); item != 4 {
		t.Fatalf("got %v, want 4 (priority 9)", item)
	}
	m, _ := q.Metrics()
	if want := []workqueue.PriorityLen{{Priority: 5, Len: 2}, {Priority: -1, Len: 1}}; !slices.Equal(m.DepthByPriority, want) || m.DepthOtherPriorities != 0 {
		t.Errorf("DepthByPriority %v, other %d; want %v, 0", m.DepthByPriority, m.DepthOtherPriorities, want)
	}
	q.Done(4)

	// 20 more priorities (-5, 5, ..., 185), i%3+1 items at the i-th: the 15
	// highest are listed; the 5 lowest, and 3 items from above at 5 and
	// -1, are summed.
	key := 100
	for i := range 20 {
		for range i%3 + 1 {
			q.AddWithPriority(key, i*10-5)
			key++
		}
	}
	m, _ = q.Metrics()
	all := q.LenByPriority()
	if len(all) != 21 || len(m.DepthByPriority) != workqueue.MetricsPriorities {
		t.Fatalf("%d priorities in use, %d listed", len(all), len(m.DepthByPriority))
	}
	if !slices.Equal(m.DepthByPriority, all[:workqueue.MetricsPriorities]) {
		t.Errorf("DepthByPriority %v, LenByPriority %v", m.DepthByPriority, all)
	}
	var other uint64
	for _, l := range all[workqueue.MetricsPriorities:] {
		other += uint64(l.Len)
	}
	if first := m.DepthByPriority[0]; first.Priority != 185 || first.Len != 2 || other != 12 || m.DepthOtherPriorities != other {
		t.Errorf("first %v, DepthOtherPriorities %d, want {185 2} and %d (12)", first, m.DepthOtherPriorities, other)
	}
	text := workqueue.PrometheusText()
	for _, want := range []string{
		fmt.Sprintf(`workqueue_depth_by_priority{name=%q,priority="45"} 3`, name),
		fmt.Sprintf(`workqueue_depth_by_priority{name=%q,priority="other"} 12`, name),
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("PrometheusText lacks %q", want)
		}
	}
}

// TestMetricsWhileWorking: snapshots, the text and the provider are read
// while workers run (for the race detector), and the totals add up.
func TestMetricsWhileWorking(t *testing.T) {
	mp := &testProvider{}
	q := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{Name: uniqueName(subjectSpec{name: "busy"}), MetricsProvider: mp})
	defer q.Close()
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]uint64, 8)
			for {
				n, down := q.GetBatch(buf)
				if down {
					return
				}
				q.DoneBatch(buf[:n])
			}
		}()
	}
	stop := make(chan struct{})
	var scrapes sync.WaitGroup
	scrapes.Add(1)
	go func() {
		defer scrapes.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = workqueue.PrometheusText()
			_, _ = q.Metrics()
		}
	}()
	for i := uint64(0); i < 5000; i++ {
		q.AddWithPriority(i%300, int(i%5))
	}
	q.ShutDownWithDrain()
	wg.Wait()
	close(stop)
	scrapes.Wait()
	m, _ := q.Metrics()
	if m.Depth != 0 || m.QueueDuration.Count != m.Adds || m.WorkDuration.Count != m.Adds {
		t.Errorf("library metrics %+v", m)
	}
	if mp.adds.count() != int64(m.Adds) || mp.depth.count() != 0 {
		t.Errorf("provider adds %d depth %d, library adds %d", mp.adds.count(), mp.depth.count(), m.Adds)
	}
}

// TestUpdateUnfinishedWork: the gauges follow the real clock when asked,
// with nothing else calling the queue.
func TestUpdateUnfinishedWork(t *testing.T) {
	mp := &testProvider{}
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: uniqueName(subjectSpec{name: "stuck"}), MetricsProvider: mp})
	defer q.Close()
	q.Add("stuck")
	q.Get()
	time.Sleep(20 * time.Millisecond)
	q.UpdateUnfinishedWork()
	if u, l := mp.unfinished.value(), mp.longest.value(); u < 0.02 || l < 0.02 || u != l {
		t.Fatalf("unfinished %v, longest %v after 20 ms", u, l)
	}
	workqueue.NewTyped[int]().UpdateUnfinishedWork() // no provider: nothing
}
