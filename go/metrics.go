package workqueue

import (
	"sync"

	clientgo "k8s.io/client-go/util/workqueue"
)

// Metrics of named queues come two ways:
//
//   - natively: the library keeps client-go's metrics for every named
//     queue (Name in the config), computed when read. Metrics() is one
//     queue's snapshot, PrometheusText() the text of every named queue in
//     the process (Go, C and Python queues alike), and the wqprometheus
//     subpackage a prometheus.Collector over that text.
//   - pushed to a client-go MetricsProvider (MetricsProvider in the config,
//     or SetProvider): the queue feeds the provider's gauges, counters and
//     histograms where client-go's queue does (see metrics_bridge.go).

// The client-go metric interfaces, so a provider written for client-go
// (component-base's, controller-runtime's, a test's) plugs in unchanged.
type (
	// MetricsProvider makes the metrics of a named queue.
	MetricsProvider = clientgo.MetricsProvider
	// GaugeMetric goes up and down.
	GaugeMetric = clientgo.GaugeMetric
	// SettableGaugeMetric is set to a value.
	SettableGaugeMetric = clientgo.SettableGaugeMetric
	// CounterMetric only goes up.
	CounterMetric = clientgo.CounterMetric
	// SummaryMetric observes values.
	SummaryMetric = clientgo.SummaryMetric
	// HistogramMetric observes values.
	HistogramMetric = clientgo.HistogramMetric
)

var (
	globalProviderOnce sync.Once
	globalProviderMu   sync.Mutex
	globalProvider     MetricsProvider
)

// SetProvider sets the metrics provider of the named queues made later
// without one of their own (client-go's SetProvider). Only the first call
// has an effect. It is this package's: client-go's global provider, which
// client-go does not let anyone read, is not consulted.
func SetProvider(metricsProvider MetricsProvider) {
	globalProviderOnce.Do(func() {
		globalProviderMu.Lock()
		globalProvider = metricsProvider
		globalProviderMu.Unlock()
	})
}

// providerFor is the provider a queue named name uses: its own, else the
// global one; nil for an unnamed queue (client-go keeps no metrics for it).
func providerFor(name string, own MetricsProvider) MetricsProvider {
	if name == "" {
		return nil
	}
	if own != nil {
		return own
	}
	globalProviderMu.Lock()
	defer globalProviderMu.Unlock()
	return globalProvider
}

// MetricsBuckets is the number of finite buckets of the duration
// histograms (client-go's: 1e-8 s × 10^k up to 10 s).
const MetricsBuckets = 10

// MetricsBucketBounds are the upper bounds of the histogram buckets, in
// seconds: 1e-08, 1e-07, ..., 1, 10.
var MetricsBucketBounds = func() (b [MetricsBuckets]float64) {
	copy(b[:], metricsBucketBounds())
	return b
}()

// Histogram is a duration histogram with client-go's buckets.
type Histogram struct {
	// Buckets[i] counts the observations in (bound[i-1], bound[i]]
	// seconds, bound being MetricsBucketBounds (Buckets[0]: at most
	// bound[0]). Not cumulative; observations above the last bound count
	// only in Count (Prometheus's +Inf bucket).
	Buckets [MetricsBuckets]uint64
	// Sum of the observed values, in seconds.
	Sum float64
	// Count of observations.
	Count uint64
}

// Cumulative is the buckets as Prometheus counts them: Cumulative()[i]
// observations were at most MetricsBucketBounds[i] seconds.
func (h Histogram) Cumulative() [MetricsBuckets]uint64 {
	var c [MetricsBuckets]uint64
	var sum uint64
	for i, n := range h.Buckets {
		sum += n
		c[i] = sum
	}
	return c
}

// Metrics is one named queue's metrics at one moment: client-go's
// work-queue metrics, as the library keeps them.
type Metrics struct {
	// Depth is workqueue_depth: +1 when an add schedules a run, -1 when an
	// item is handed out.
	Depth int64
	// Adds is workqueue_adds_total: adds that scheduled a run (a delayed
	// item counts when it comes due).
	Adds uint64
	// Retries is workqueue_retries_total: AddAfter and AddRateLimited
	// calls made before shutdown.
	Retries uint64
	// QueueDuration is workqueue_queue_duration_seconds: at each get, how
	// long the item waited since it became dirty.
	QueueDuration Histogram
	// WorkDuration is workqueue_work_duration_seconds: at each Done, how
	// long the item was processed.
	WorkDuration Histogram
	// UnfinishedWorkSeconds is workqueue_unfinished_work_seconds: the
	// summed age of the items being processed, as of now (or of the
	// shutdown).
	UnfinishedWorkSeconds float64
	// LongestRunningProcessorSeconds is
	// workqueue_longest_running_processor_seconds: the oldest of those ages.
	LongestRunningProcessorSeconds float64
	// DepthByPriority is workqueue_depth_by_priority: ready items per
	// priority, highest first, for at most MetricsPriorities priorities
	// (the highest with ready items). LenByPriority lists every priority.
	DepthByPriority []PriorityLen
	// DepthOtherPriorities is the ready items at the priorities beyond
	// those of DepthByPriority, summed (workqueue_depth_by_priority with
	// priority="other"); 0 when there are none.
	DepthOtherPriorities uint64
}

// MetricsPriorities is the most priorities Metrics.DepthByPriority lists;
// the same bound as the numbered priority labels of
// workqueue_depth_by_priority in PrometheusText.
const MetricsPriorities = 15

// metrics reads a named queue's snapshot; false for an unnamed or closed
// queue.
func (h *queueHandle) metrics() (Metrics, bool) {
	if !h.enter() {
		return Metrics{}, false
	}
	m, st := queueMetrics(h.ptr)
	h.exit()
	if st == stNoMetrics {
		return Metrics{}, false
	}
	check("wq_queue_metrics", st)
	return toMetrics(&m), true
}

// Metrics is the queue's metrics now, as the library keeps them; false
// when the queue has no name (only named queues keep metrics) or is
// closed.
func (q *Typed[T]) Metrics() (Metrics, bool) { return q.h.metrics() }

// Metrics is the queue's metrics now; see Typed.Metrics.
func (q *RawQueue) Metrics() (Metrics, bool) { return q.h.metrics() }

// PrometheusText is the metrics of every live named queue of the process
// (this package's, and those C or Python code made) in the Prometheus text
// exposition format 0.0.4, ready to serve at /metrics: client-go's
// families (workqueue_depth, _adds_total, _queue_duration_seconds,
// _work_duration_seconds, _unfinished_work_seconds,
// _longest_running_processor_seconds, _retries_total) with the label
// name, plus workqueue_depth_by_priority{name,priority} and, for named
// scheduling queues, workqueue_scheduling_pending_items{name,queue}.
// Queues sharing a name are summed. Empty when no named queue exists.
func PrometheusText() string { return metricsPrometheus() }

// UpdateUnfinishedWork sets the MetricsProvider's two "unfinished" gauges
// (workqueue_unfinished_work_seconds,
// workqueue_longest_running_processor_seconds) to their values now.
// client-go's queue sets them from a goroutine every 500 ms; this queue
// sets them after every call on it and at every step of its ManualClock,
// with no goroutine, so they only go stale while nothing calls the queue:
// an idle queue with a stuck worker. Call this from a scrape handler (or a
// ticker of your own) if that case matters; the library's own metrics
// (Metrics, PrometheusText, the wqprometheus collector) are computed at
// read time and never stale. Without a provider it does nothing.
func (q *Typed[T]) UpdateUnfinishedWork() { q.m.update() }

// UpdateUnfinishedWork: see Typed.UpdateUnfinishedWork.
func (q *RawQueue) UpdateUnfinishedWork() { q.m.update() }
