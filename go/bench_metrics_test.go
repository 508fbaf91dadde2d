package workqueue_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	clientgo "k8s.io/client-go/util/workqueue"

	"github.com/workqueue-project/workqueue/go"
)

// BenchmarkMetricsInterleaved: the cost of metrics on PerKey's cycle. Each
// queue runs unnamed (no metrics) and named (client-go's metrics kept), in
// interleaved rounds; the ratios are named / unnamed time (the metrics
// issue's target is at most 1.3), and client-go's named time over this
// package's named time (above 1: this package is faster). client-go's named
// queue gets the metrics a Kubernetes component registers: client_golang
// gauges, counters and histograms with the same buckets.
func BenchmarkMetricsInterleaved(b *testing.B) {
	strs, uints := stringKeys(100), uintKeys(100)
	raw := workqueue.NewRawQueue()
	rawNamed := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{Name: "bench-metrics-raw"})
	typed := workqueue.NewTyped[string]()
	typedNamed := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "bench-metrics-typed"})
	clientGoNamed := clientgo.NewTypedWithConfig(clientgo.TypedQueueConfig[string]{
		Name: "bench-metrics-client-go", MetricsProvider: promProvider{}})
	for _, q := range []interface{ Close() }{raw, rawNamed, typed, typedNamed} {
		defer q.Close()
	}
	defer clientGoNamed.ShutDown()
	perKey := interleave(b, []variant{
		{name: "uint64/workqueue-raw", run: round[uint64](raw, uints)},
		{name: "uint64/workqueue-raw-named", run: round[uint64](rawNamed, uints)},
		{name: "string/workqueue", run: round[string](typed, strs)},
		{name: "string/workqueue-named", run: round[string](typedNamed, strs)},
		{name: "string/client-go-named", run: round[string](clientGoNamed, strs)},
	})
	b.ReportMetric(perKey[1]/perKey[0], "uint64-named/unnamed")
	b.ReportMetric(perKey[3]/perKey[2], "string-named/unnamed")
	b.ReportMetric(perKey[4]/perKey[3], "string-named-vs-client-go")
}

// promProvider is client-go's MetricsProvider on client_golang metrics,
// as Kubernetes components install it (unregistered: only their cost
// matters here).
type promProvider struct{}

var durationBuckets = prometheus.ExponentialBuckets(1e-8, 10, 10)

func (promProvider) NewDepthMetric(string) clientgo.GaugeMetric {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth"})
}

func (promProvider) NewAddsMetric(string) clientgo.CounterMetric {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "adds"})
}

func (promProvider) NewLatencyMetric(string) clientgo.HistogramMetric {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: "queue", Buckets: durationBuckets})
}

func (promProvider) NewWorkDurationMetric(string) clientgo.HistogramMetric {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: "work", Buckets: durationBuckets})
}

func (promProvider) NewUnfinishedWorkSecondsMetric(string) clientgo.SettableGaugeMetric {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "unfinished"})
}

func (promProvider) NewLongestRunningProcessorSecondsMetric(string) clientgo.SettableGaugeMetric {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "longest"})
}

func (promProvider) NewRetriesMetric(string) clientgo.CounterMetric {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "retries"})
}
