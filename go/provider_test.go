package workqueue_test

import (
	"sync"

	"github.com/workqueue-project/workqueue/go"
)

// testMetric records what a queue feeds one metric, like client-go's
// metrics_test.go testMetric (without its blocking notify channel: the
// queue may set a gauge more than once per call).
type testMetric struct {
	mu            sync.Mutex
	inc, dec      int64
	set           float64
	observedValue float64
	observedSum   float64
	observedCount int
	notify        chan struct{} // if not nil, signalled (without blocking) on every change
}

func (m *testMetric) changed() {
	if m.notify != nil {
		select {
		case m.notify <- struct{}{}:
		default:
		}
	}
}

func (m *testMetric) Inc() {
	m.mu.Lock()
	m.inc++
	m.mu.Unlock()
	m.changed()
}

func (m *testMetric) Dec() {
	m.mu.Lock()
	m.dec++
	m.mu.Unlock()
	m.changed()
}

func (m *testMetric) Set(f float64) {
	m.mu.Lock()
	m.set = f
	m.mu.Unlock()
	m.changed()
}

func (m *testMetric) Observe(f float64) {
	m.mu.Lock()
	m.observedValue = f
	m.observedSum += f
	m.observedCount++
	m.mu.Unlock()
	m.changed()
}

// count is a counter's or an up-down gauge's value.
func (m *testMetric) count() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inc - m.dec
}

func (m *testMetric) value() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set
}

func (m *testMetric) observations() (last, sum float64, count int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observedValue, m.observedSum, m.observedCount
}

// testProvider is a client-go MetricsProvider that records one queue's
// metrics (client-go's testMetricsProvider).
type testProvider struct {
	depth, adds, latency, duration, unfinished, longest, retries testMetric
	mu                                                           sync.Mutex
	names                                                        []string
}

var _ workqueue.MetricsProvider = (*testProvider)(nil)

func (p *testProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	p.mu.Lock()
	p.names = append(p.names, name)
	p.mu.Unlock()
	return &p.depth
}
func (p *testProvider) NewAddsMetric(string) workqueue.CounterMetric           { return &p.adds }
func (p *testProvider) NewLatencyMetric(string) workqueue.HistogramMetric      { return &p.latency }
func (p *testProvider) NewWorkDurationMetric(string) workqueue.HistogramMetric { return &p.duration }
func (p *testProvider) NewUnfinishedWorkSecondsMetric(string) workqueue.SettableGaugeMetric {
	return &p.unfinished
}
func (p *testProvider) NewLongestRunningProcessorSecondsMetric(string) workqueue.SettableGaugeMetric {
	return &p.longest
}
func (p *testProvider) NewRetriesMetric(string) workqueue.CounterMetric { return &p.retries }
