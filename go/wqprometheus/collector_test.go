package wqprometheus_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/workqueue-project/workqueue/go"
	"github.com/workqueue-project/workqueue/go/wqprometheus"
)

// busyQueues makes named queues with something in every family.
func busyQueues(t *testing.T) func() {
	c := workqueue.NewManualClock()
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: `pods "a"`, Clock: c})
	raw := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{Name: "nodes", Clock: c})
	sq, err := workqueue.NewSchedulingQueue[string](workqueue.SchedulingQueueConfig{Name: "scheduler", Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		q.AddWithPriority("item-"+string(rune('a'+i)), i)
		raw.AddAfter(uint64(i), time.Millisecond)
	}
	c.Step(time.Millisecond)
	for i := 0; i < 5; i++ {
		it, _ := q.Get()
		c.Step(time.Duration(i) * time.Millisecond)
		q.Done(it)
		k, _ := raw.Get()
		_ = k
	}
	c.Step(2 * time.Second)
	sq.Add("p1", 1)
	sq.Add("p2", 2)
	p, _, _ := sq.Pop()
	sq.RequeueUnschedulable(p)
	return func() {
		q.Close()
		raw.Close()
		sq.Close()
	}
}

// TestCollectorMatchesText: gathered through a registry, the collector's
// families, labels and values are the text's (parsed with expfmt).
func TestCollectorMatchesText(t *testing.T) {
	defer busyQueues(t)()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(wqprometheus.NewCollector())
	text := workqueue.PrometheusText()

	// Every family of the text is one the collector knows.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range wqprometheus.Families() {
		known[f] = true
		if _, ok := parsed[f]; !ok {
			t.Errorf("family %s is not in the text", f)
		}
	}
	for f := range parsed {
		if !known[f] {
			t.Errorf("the text has a family the collector does not expose: %s", f)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(text)); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(wqprometheus.NewCollector(), "workqueue_scheduling_pending_items"); n < 4 {
		t.Errorf("%d scheduling series", n)
	}
	if n, err := testutil.GatherAndCount(reg, "workqueue_depth_by_priority"); err != nil || n < 16 {
		t.Errorf("%d priority series (%v)", n, err)
	}
}

// TestCollectorWhileWorking: scrapes race with workers (for the race
// detector) and the registry never reports an inconsistency.
func TestCollectorWhileWorking(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(wqprometheus.NewCollector())
	q := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{Name: "busy"})
	defer q.Close()
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, down := q.Get()
				if down {
					return
				}
				q.Done(k)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := uint64(0); i < 20000; i++ {
		q.Add(i % 500)
	}
	<-done
	q.ShutDownWithDrain()
	wg.Wait()
}

// TestCollectorRefusesDuplicates: a second collector of the same families
// is refused, as client_golang refuses any duplicate family.
func TestCollectorRefusesDuplicates(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(wqprometheus.NewCollector())
	if err := reg.Register(wqprometheus.NewCollector()); err == nil {
		t.Fatal("registered twice")
	}
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_depth", Help: "x"}, []string{"name"})
	if err := reg.Register(depth); err == nil {
		t.Fatal("a client-go style workqueue_depth registered next to the collector")
	}
}
