// Package wqprometheus exposes the metrics libworkqueue keeps for every
// named queue of the process to Prometheus's client_golang.
//
//	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
//	reg.MustRegister(wqprometheus.NewCollector())
//
// The collector reads workqueue.PrometheusText() at each scrape and
// exposes the same families with the same labels: client-go's work-queue
// families (workqueue_depth, workqueue_adds_total,
// workqueue_queue_duration_seconds, workqueue_work_duration_seconds,
// workqueue_unfinished_work_seconds,
// workqueue_longest_running_processor_seconds, workqueue_retries_total,
// label name), workqueue_depth_by_priority{name,priority} and
// workqueue_scheduling_pending_items{name,queue}. Everything is computed at
// scrape time, the two "unfinished" gauges included: no goroutine ticks.
//
// It covers every named queue in the process, this package's and those
// made by C or Python code. Do not also register client-go-style metrics of
// the same names (for example a MetricsProvider registering
// workqueue_depth in the same registry): the registry refuses the second
// collector of a family.
package wqprometheus

import (
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/workqueue-project/workqueue/go"
)

// family is one family the library writes.
type family struct {
	name   string
	help   string
	kind   prometheus.ValueType // for histograms: unused
	hist   bool
	labels []string
}

// families are the library's, with its help texts (the test compares the
// collected families with the text, help included).
var families = []family{
	{"workqueue_depth", "Current depth of workqueue", prometheus.GaugeValue, false, []string{"name"}},
	{"workqueue_adds_total", "Total number of adds handled by workqueue", prometheus.CounterValue, false, []string{"name"}},
	{"workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested.", 0, true, []string{"name"}},
	{"workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.", 0, true, []string{"name"}},
	{"workqueue_unfinished_work_seconds", "How many seconds of work has done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.", prometheus.GaugeValue, false, []string{"name"}},
	{"workqueue_longest_running_processor_seconds", "How many seconds has the longest running processor for workqueue been running.", prometheus.GaugeValue, false, []string{"name"}},
	{"workqueue_retries_total", "Total number of retries handled by workqueue", prometheus.CounterValue, false, []string{"name"}},
	{"workqueue_depth_by_priority", "Current number of ready items in workqueue, by priority", prometheus.GaugeValue, false, []string{"name", "priority"}},
	{"workqueue_scheduling_pending_items", "Items in each sub-queue of a scheduling queue: active, backoff, unschedulable, in_flight", prometheus.GaugeValue, false, []string{"name", "queue"}},
}

// Families is the names of the families the collector exposes.
func Families() []string {
	names := make([]string, len(families))
	for i, f := range families {
		names[i] = f.name
	}
	return names
}

type collector struct {
	text  func() string
	descs map[string]*prometheus.Desc
}

// NewCollector returns a collector of the metrics of every named queue of
// the process.
func NewCollector() prometheus.Collector { return newCollector(workqueue.PrometheusText) }

func newCollector(text func() string) *collector {
	c := &collector{text: text, descs: map[string]*prometheus.Desc{}}
	for _, f := range families {
		c.descs[f.name] = prometheus.NewDesc(f.name, f.help, f.labels, nil)
	}
	return c
}

// Describe sends the descriptors of every family.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range families {
		ch <- c.descs[f.name]
	}
}

// Collect reads the library's text and sends its metrics.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(strings.NewReader(c.text()))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[families[0].name], err)
		return
	}
	for _, f := range families {
		mf, ok := parsed[f.name]
		if !ok {
			continue
		}
		desc := c.descs[f.name]
		for _, m := range mf.GetMetric() {
			values, ok := labelValues(m, f.labels)
			if !ok {
				continue
			}
			var metric prometheus.Metric
			var err error
			switch {
			case f.hist:
				h := m.GetHistogram()
				buckets := map[float64]uint64{}
				for _, b := range h.GetBucket() {
					if !math.IsInf(b.GetUpperBound(), +1) {
						buckets[b.GetUpperBound()] = b.GetCumulativeCount()
					}
				}
				metric, err = prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
			case f.kind == prometheus.CounterValue:
				metric, err = prometheus.NewConstMetric(desc, f.kind, m.GetCounter().GetValue(), values...)
			default:
				metric, err = prometheus.NewConstMetric(desc, f.kind, m.GetGauge().GetValue(), values...)
			}
			if err != nil {
				metric = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- metric
		}
	}
}

// labelValues is m's values of the labels names, in order.
func labelValues(m *dto.Metric, names []string) ([]string, bool) {
	values := make([]string, len(names))
	found := 0
	for _, lp := range m.GetLabel() {
		for i, n := range names {
			if lp.GetName() == n {
				values[i] = lp.GetValue()
				found++
			}
		}
	}
	return values, found == len(names)
}
