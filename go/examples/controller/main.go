// Command controller is a controller in miniature, in Go.
//
// Part 1: two "informers" emit change events for 2,000 objects
// ("namespace/name" keys): first the initial list (one AddBatch), then a
// stream of updates in which a few hot objects change far more often than
// the rest, so most events collapse into a run that is already pending.
// Four workers (workqueue.RunWorkers) reconcile the keys; one reconcile in
// ten fails (a seeded generator decides) and is retried under the default
// controller rate limiter. When the informers stop, ShutDownWithDrain
// processes every key still queued.
//
// The queue is named ("controller-demo"), so the library keeps client-go's
// metrics for it: part 1 ends with a summary of them (Metrics) and the size
// of the Prometheus text a /metrics endpoint would serve (PrometheusText).
//
// Part 2: the same work written the client-go way — a
// processNextWorkItem loop over the TypedRateLimitingInterface only — to
// show the drop-in: only the import and the constructor differ from a
// client-go controller. Workers wait with GetWithContext and stop when
// their context is cancelled. Its queue is given a client-go
// MetricsProvider (a small counting one here; component-base's or
// controller-runtime's in a real controller), which the queue feeds as
// client-go's does; the demo ends with what the provider received next to
// the library's own figures.
//
//	go run ./examples/controller        (WQ_DEMO_QUICK=1: a shorter run)
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/workqueue-project/workqueue/go"
)

const (
	objects         = 2_000
	informers       = 2
	burst           = 500
	burstPause      = 10 * time.Millisecond
	hotObjects      = objects / 100
	workers         = 4
	reconcileTime   = 200 * time.Microsecond // a call to an API server, say
	failurePercent  = 10
	maxRetries      = 5
	seed            = 0xC0FFEE
	defaultUpdates  = 20_000
	quickUpdates    = 2_000
	progressPeriod  = 100 * time.Millisecond
	progressPipeOut = 500 * time.Millisecond
)

var errReconcile = errors.New("reconcile failed (simulated)")

type stats struct {
	emitted   atomic.Int64
	runs      atomic.Int64
	retryRuns atomic.Int64
	failures  atomic.Int64
	dropped   atomic.Int64
	mu        sync.Mutex
	seen      map[string]bool
}

func keys() []string {
	ks := make([]string, objects)
	for i := range ks {
		ks[i] = fmt.Sprintf("namespace-%02d/object-%05d", i%25, i)
	}
	return ks
}

// inform emits events: informer 0 first lists every object; then each
// emits its updates, half of them to the hot objects, in bursts.
func inform(informer, updates int, q *workqueue.Typed[string], ks []string, st *stats) {
	if informer == 0 {
		q.AddBatch(ks)
		st.emitted.Add(int64(len(ks)))
	}
	rng := rand.New(rand.NewPCG(seed, uint64(informer)))
	bursts := updates / burst
	for b := 0; b < bursts; b++ {
		for i := 0; i < burst; i++ {
			n := objects
			if rng.IntN(2) == 0 {
				n = hotObjects
			}
			q.Add(ks[rng.IntN(n)])
		}
		st.emitted.Add(burst)
		if b+1 < bursts {
			time.Sleep(burstPause)
		}
	}
}

// reconcile is the handler: the n-th run fails when the n-th number of a
// seeded sequence says so, the same failure rate on every run.
func reconcile(q workqueue.TypedRateLimitingInterface[string], st *stats, key string) error {
	run := st.runs.Add(1) - 1
	st.mu.Lock()
	st.seen[key] = true
	st.mu.Unlock()
	if q.NumRequeues(key) > 0 {
		st.retryRuns.Add(1)
	}
	time.Sleep(reconcileTime)
	if rand.New(rand.NewPCG(seed, uint64(run))).IntN(100) >= failurePercent {
		return nil
	}
	st.failures.Add(1)
	return fmt.Errorf("%s: %w", key, errReconcile)
}

// progress prints a live line until stop is closed.
func progress(q *workqueue.Typed[string], st *stats, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	terminal := isTerminal()
	period := progressPipeOut
	if terminal {
		period = progressPeriod
	}
	lastRuns, last := int64(0), time.Now()
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		finished := false
		select {
		case <-ticker.C:
		case <-stop:
			finished = true
		}
		now := time.Now()
		runs := st.runs.Load()
		rate := float64(runs-lastRuns) / max(now.Sub(last).Seconds(), 1e-9)
		lastRuns, last = runs, now
		line := fmt.Sprintf("processed %7d  depth %5d  waiting for retry %4d  %8.0f keys/s",
			runs, q.Len(), q.DelayedLen(), rate)
		if terminal {
			fmt.Printf("\r%s", line)
		} else {
			fmt.Println(line)
		}
		if finished {
			if terminal {
				fmt.Println()
			}
			return
		}
	}
}

func isTerminal() bool {
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func part1(updates int) error {
	fmt.Printf("part 1, RunWorkers: %d informers, %d objects, %d workers, %d %% of reconciles fail, default controller rate limiter\n",
		informers, objects, workers, failurePercent)
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "controller-demo"})
	defer q.Close()
	ks := keys()
	st := &stats{seen: map[string]bool{}}

	reportCh := make(chan workqueue.WorkerReport, 1)
	go func() {
		reportCh <- workqueue.RunWorkers(context.Background(), q, func(_ context.Context, key string) error {
			return reconcile(q, st, key)
		}, workqueue.WorkerOptions[string]{
			Workers:    workers,
			MaxRetries: maxRetries,
			OnDropped:  func(string, error) { st.dropped.Add(1) },
		})
	}()
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go progress(q, st, stopProgress, progressDone)

	started := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < informers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			inform(i, updates, q, ks, st)
		}(i)
	}
	wg.Wait()

	queued, inFlight, waiting := q.Len(), q.ProcessingLen(), q.DelayedLen()
	drainStarted := time.Now()
	q.ShutDownWithDrain()
	drainTime := time.Since(drainStarted)
	report := <-reportCh
	close(stopProgress)
	<-progressDone
	elapsed := time.Since(started)

	runs := st.runs.Load()
	rows := [][2]string{
		{"events emitted", fmt.Sprintf("%d for %d objects (initial list + %d updates)", st.emitted.Load(), objects, informers*updates)},
		{"distinct keys run", fmt.Sprintf("%d of %d", len(st.seen), objects)},
		{"handler runs", fmt.Sprintf("%d: collapse ratio %.1f events per run", runs, float64(st.emitted.Load())/float64(max(runs, 1)))},
		{"successes", fmt.Sprint(report.Succeeded)},
		{"failures", fmt.Sprintf("%d (%.1f %%)", st.failures.Load(), 100*float64(st.failures.Load())/float64(max(runs, 1)))},
		{"  requeued", fmt.Sprintf("%d with AddRateLimited", report.Retried)},
		{"  retry runs", fmt.Sprintf("%d runs of a key with a failure pending", st.retryRuns.Load())},
		{"  given up", fmt.Sprintf("%d (after %d retries)", report.Dropped, maxRetries)},
		{"  abandoned", fmt.Sprintf("%d (failed in the drain: not requeued, the queue was shut down)", report.Abandoned)},
		{"  dropped at shutdown", fmt.Sprintf("%d retries still waiting for their backoff", waiting)},
		{"ShutDownWithDrain", fmt.Sprintf("%d queued + %d in flight at shutdown, all processed in %v", queued, inFlight, drainTime.Round(time.Millisecond))},
		{"interned keys left", fmt.Sprint(q.InternedKeys())},
		{"elapsed", elapsed.Round(10 * time.Millisecond).String()},
	}
	printRows(rows)
	printMetrics(q)
	switch {
	case len(st.seen) != objects:
		return fmt.Errorf("only %d of %d objects were reconciled", len(st.seen), objects)
	case q.Len() != 0 || q.ProcessingLen() != 0:
		return errors.New("the queue did not drain")
	case uint64(st.dropped.Load()) != report.Dropped:
		return errors.New("OnDropped and the report disagree")
	case report.Succeeded+report.Retried+report.Dropped+report.Abandoned != uint64(runs):
		return fmt.Errorf("the report counts %+v, the handler ran %d times", report, runs)
	}
	return nil
}

// part2 is a controller as client-go's samples write it; with client-go
// the only differences are the import path and the config struct.
func part2(updates int) error {
	fmt.Printf("\npart 2, the client-go way: processNextWorkItem over TypedRateLimitingInterface, GetWithContext\n")
	// client-go's DefaultControllerRateLimiter, written out the way
	// controllers customise it (a golang.org/x/time/rate bucket in a
	// struct literal), with an overall rate that lets the demo finish.
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 1000*time.Second),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(1000), 100)},
	)
	provider := &countingProvider{}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "client-go-style", MetricsProvider: provider})
	defer q.Close()
	var queue workqueue.TypedRateLimitingInterface[string] = q // what a controller struct holds
	ks := keys()
	st := &stats{seen: map[string]bool{}}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	processNextWorkItem := func() bool {
		key, quit, err := q.GetWithContext(ctx)
		if quit || err != nil {
			return false
		}
		defer queue.Done(key)
		if err := reconcile(queue, st, key); err != nil {
			if queue.NumRequeues(key) < maxRetries {
				queue.AddRateLimited(key)
				return true
			}
			st.dropped.Add(1)
		}
		queue.Forget(key)
		return true
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for processNextWorkItem() {
			}
		}()
	}
	started := time.Now()
	rng := rand.New(rand.NewPCG(seed, 2))
	queue.Add(ks[0])
	for i := 0; i < updates; i++ {
		queue.AddAfter(ks[rng.IntN(objects)], time.Duration(rng.IntN(20))*time.Millisecond)
	}
	// Wait for the work to settle, then stop the workers with the context.
	for q.Len() > 0 || q.ProcessingLen() > 0 || q.DelayedLen() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	printRows([][2]string{
		{"delayed adds", fmt.Sprintf("%d over %d objects, 0-20 ms each", updates+1, objects)},
		{"handler runs", fmt.Sprintf("%d for %d distinct keys", st.runs.Load(), len(st.seen))},
		{"failures", fmt.Sprintf("%d, given up %d", st.failures.Load(), st.dropped.Load())},
		{"workers stopped by", "context cancel (GetWithContext)"},
		{"elapsed", time.Since(started).Round(10 * time.Millisecond).String()},
	})
	if q.ShuttingDown() {
		return errors.New("cancelling the workers must not shut the queue down")
	}
	m, _ := q.Metrics()
	fmt.Printf("\nmetrics fed to the MetricsProvider (workqueue_*{name=%q}), next to the library's\n", q.Name())
	printRows([][2]string{
		{"adds_total", fmt.Sprintf("%d (library %d)", provider.adds.n.Load(), m.Adds)},
		{"retries_total", fmt.Sprintf("%d (library %d)", provider.retries.n.Load(), m.Retries)},
		{"depth", fmt.Sprintf("%d (library %d)", provider.depth.n.Load(), m.Depth)},
		{"queue_duration", fmt.Sprintf("%d observations, mean %.3f ms (library %d, %.3f ms)",
			provider.latency.count.Load(), provider.latency.meanMs(), m.QueueDuration.Count, meanMs(m.QueueDuration))},
		{"work_duration", fmt.Sprintf("%d observations, mean %.3f ms (library %d, %.3f ms)",
			provider.work.count.Load(), provider.work.meanMs(), m.WorkDuration.Count, meanMs(m.WorkDuration))},
	})
	// On the real clock the bridge and the library read the time at
	// slightly different instants: a delayed item coming due within
	// microseconds of another change of it can be counted one step apart
	// (a handful of 20,000 delayed adds). Anything more is a bug.
	if drift := provider.adds.n.Load() - int64(m.Adds); drift < -5 || drift > 5 ||
		provider.work.count.Load() != int64(m.WorkDuration.Count) {
		return errors.New("the provider and the library disagree")
	}
	return nil
}

// printMetrics summarises a named queue's metrics, as a scrape would show
// them.
func printMetrics(q *workqueue.Typed[string]) {
	m, ok := q.Metrics()
	if !ok {
		return
	}
	fmt.Printf("\nmetrics (workqueue_*{name=%q})\n", q.Name())
	var buckets []string
	for i, n := range m.WorkDuration.Buckets {
		if n != 0 {
			buckets = append(buckets, fmt.Sprintf("<=%gs: %d", workqueue.MetricsBucketBounds[i], n))
		}
	}
	printRows([][2]string{
		{"adds_total", fmt.Sprint(m.Adds)},
		{"retries_total", fmt.Sprint(m.Retries)},
		{"depth", fmt.Sprint(m.Depth)},
		{"queue_duration", fmt.Sprintf("%d observations, mean %.3f ms", m.QueueDuration.Count, meanMs(m.QueueDuration))},
		{"work_duration", fmt.Sprintf("%d observations, mean %.3f ms", m.WorkDuration.Count, meanMs(m.WorkDuration))},
		{"work_duration buckets", strings.Join(buckets, " ")},
		{"unfinished_work", fmt.Sprintf("%.3f s (longest running %.3f s)", m.UnfinishedWorkSeconds, m.LongestRunningProcessorSeconds)},
		{"scrape", fmt.Sprintf("%d bytes of Prometheus text (PrometheusText)", len(workqueue.PrometheusText()))},
	})
}

func meanMs(h workqueue.Histogram) float64 {
	if h.Count == 0 {
		return 0
	}
	return 1e3 * h.Sum / float64(h.Count)
}

// countingProvider is a client-go MetricsProvider that counts; a real
// controller passes component-base's or its own Prometheus provider.
type countingProvider struct {
	depth, adds, retries, unfinished, longest counter
	latency, work                             observer
}

type counter struct{ n atomic.Int64 }

func (c *counter) Inc()        { c.n.Add(1) }
func (c *counter) Dec()        { c.n.Add(-1) }
func (c *counter) Set(float64) {}

type observer struct {
	count atomic.Int64
	sumNs atomic.Int64
}

func (o *observer) Observe(seconds float64) {
	o.count.Add(1)
	o.sumNs.Add(int64(seconds * 1e9))
}

func (o *observer) meanMs() float64 {
	if n := o.count.Load(); n > 0 {
		return float64(o.sumNs.Load()) / 1e6 / float64(n)
	}
	return 0
}

func (p *countingProvider) NewDepthMetric(string) workqueue.GaugeMetric            { return &p.depth }
func (p *countingProvider) NewAddsMetric(string) workqueue.CounterMetric           { return &p.adds }
func (p *countingProvider) NewLatencyMetric(string) workqueue.HistogramMetric      { return &p.latency }
func (p *countingProvider) NewWorkDurationMetric(string) workqueue.HistogramMetric { return &p.work }
func (p *countingProvider) NewUnfinishedWorkSecondsMetric(string) workqueue.SettableGaugeMetric {
	return &p.unfinished
}
func (p *countingProvider) NewLongestRunningProcessorSecondsMetric(string) workqueue.SettableGaugeMetric {
	return &p.longest
}
func (p *countingProvider) NewRetriesMetric(string) workqueue.CounterMetric { return &p.retries }

func printRows(rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Printf("  %s%s  %s\n", r[0], strings.Repeat(" ", width-len(r[0])), r[1])
	}
}

func main() {
	updates := defaultUpdates
	if os.Getenv("WQ_DEMO_QUICK") != "" {
		updates = quickUpdates
	}
	fmt.Printf("libworkqueue %s from Go\n", workqueue.Version())
	for _, part := range []func(int) error{part1, part2} {
		if err := part(updates); err != nil {
			fmt.Fprintln(os.Stderr, "controller demo:", err)
			os.Exit(1)
		}
	}
}
