package workqueue_test

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The conformance scenarios (../conformance, see its README.md) replayed
// against every way this package runs a queue:
//
//   - the top level, priority/ and metrics/ on
//       raw:            RawQueue, the limiter inside the library (uint64 keys)
//       raw-go:         RawQueue with the limiter asked from Go
//       typed:          Typed[string] (interned keys, limiter asked from Go,
//                       the limiter's own interner, Go composites)
//     and metrics/ also on raw-provider and typed-provider: the same queues
//     with a client-go MetricsProvider, whose values are checked as well as
//     the library's;
//   - limiter subjects on uint64 limiters (native composites) and string
//     limiters (interned keys, Go composites);
//   - scheduling/ on RawSchedulingQueue and SchedulingQueue[string] (whose
//     interner must hold exactly the items the queue holds after every
//     step).
//
// A malformed scenario fails the suite (TestConformanceRejectsMalformed
// checks the runner notices).

// scenarioDir holds the scenarios; WQ_CONFORMANCE_DIR overrides it.
const scenarioDir = "../conformance"

// folder kinds: which subjects and steps a file may use.
const (
	kindTop        = "top"
	kindScheduling = "scheduling"
	kindPriority   = "priority"
	kindMetrics    = "metrics"
)

var folders = []struct{ sub, kind string }{
	{"", kindTop},
	{"scheduling", kindScheduling},
	{"priority", kindPriority},
	{"metrics", kindMetrics},
}

type step struct {
	line     int
	op       string
	args     []string
	expected []string // nil: no check
}

type scenario struct {
	file    string
	kind    string
	line    int
	name    string
	subject []string
	steps   []step
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	dir := scenarioDir
	if d := os.Getenv("WQ_CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	var all []scenario
	names := map[string]string{}
	for _, f := range folders {
		files, err := filepath.Glob(filepath.Join(dir, f.sub, "*.scn"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no scenario files in %s (%v)", filepath.Join(dir, f.sub), err)
		}
		for _, file := range files {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rel := filepath.Join(f.sub, filepath.Base(file))
			scs, err := parseScenarios(rel, f.kind, string(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range scs {
				if where, dup := names[sc.name]; dup {
					t.Fatalf("%s:%d: scenario %s already in %s", rel, sc.line, sc.name, where)
				}
				names[sc.name] = fmt.Sprintf("%s:%d", rel, sc.line)
			}
			all = append(all, scs...)
		}
	}
	return all
}

// parseScenarios reads one file of the given folder kind.
func parseScenarios(file, kind, text string) ([]scenario, error) {
	var all []scenario
	var cur *scenario
	for n, raw := range strings.Split(text, "\n") {
		n++
		if i := strings.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		tokens := strings.Fields(raw)
		if len(tokens) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, n)
		switch {
		case tokens[0] == "scenario":
			if cur != nil || len(tokens) != 2 {
				return nil, fmt.Errorf("%s: malformed scenario line", where)
			}
			cur = &scenario{file: file, kind: kind, line: n, name: tokens[1]}
		case cur == nil:
			return nil, fmt.Errorf("%s: step outside a scenario", where)
		case tokens[0] == "end":
			if len(tokens) != 1 || cur.subject == nil || len(cur.steps) == 0 {
				return nil, fmt.Errorf("%s: scenario %s without a subject or steps", where, cur.name)
			}
			all = append(all, *cur)
			cur = nil
		case cur.subject == nil:
			if _, err := parseSubject(kind, tokens); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			cur.subject = tokens
		default:
			st := step{line: n, op: tokens[0]}
			rest := tokens[1:]
			for i, tok := range rest {
				if tok == "=>" {
					st.expected = rest[i+1:]
					if len(st.expected) == 0 {
						return nil, fmt.Errorf("%s: nothing after =>", where)
					}
					rest = rest[:i]
					break
				}
			}
			st.args = rest
			cur.steps = append(cur.steps, st)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: scenario %s has no end", file, cur.name)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no scenario", file)
	}
	return all, nil
}

// subjectSpec is a parsed subject line.
type subjectSpec struct {
	what    string // "queue", "limiter", "scheduling_queue"
	limiter string // "" for the default
	aging   time.Duration
	name    string
	sched   workqueue.SchedulingQueueConfig
}

func parseSubject(kind string, tokens []string) (subjectSpec, error) {
	spec := subjectSpec{what: tokens[0]}
	args := tokens[1:]
	switch {
	case kind == kindScheduling:
		if spec.what != "scheduling_queue" {
			return spec, fmt.Errorf("scheduling/ takes only the subject scheduling_queue, got %q", spec.what)
		}
		return spec, parseSchedulingOptions(&spec.sched, args)
	case spec.what == "limiter":
		if kind != kindTop || len(args) != 1 {
			return spec, fmt.Errorf("bad limiter subject %q", strings.Join(tokens, " "))
		}
		spec.limiter = args[0]
		_, err := buildLimiter[uint64](spec.limiter)
		return spec, err
	case spec.what != "queue":
		return spec, fmt.Errorf("expected a subject, got %q", spec.what)
	}
	if len(args) > 0 && !strings.Contains(args[0], "=") {
		spec.limiter = args[0]
		if _, err := buildLimiter[uint64](spec.limiter); err != nil {
			return spec, err
		}
		args = args[1:]
	}
	seen := map[string]bool{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		if !ok || seen[key] {
			return spec, fmt.Errorf("bad or repeated option %q", a)
		}
		seen[key] = true
		switch {
		case key == "aging" && (kind == kindPriority || kind == kindMetrics):
			d, err := parseDuration(value)
			if err != nil {
				return spec, err
			}
			if d == 0 {
				return spec, fmt.Errorf("the core refuses aging=%s", value)
			}
			spec.aging = d
		case key == "name" && kind == kindMetrics:
			if value == "" {
				return spec, fmt.Errorf("empty name")
			}
			spec.name = value
		default:
			return spec, fmt.Errorf("option %q is not allowed in %s scenarios", a, kind)
		}
	}
	if kind == kindMetrics && spec.name == "" {
		return spec, fmt.Errorf("a metrics queue needs name=NAME")
	}
	return spec, nil
}

func parseSchedulingOptions(cfg *workqueue.SchedulingQueueConfig, args []string) error {
	seen := map[string]bool{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		if !ok || seen[key] {
			return fmt.Errorf("bad or repeated option %q", a)
		}
		seen[key] = true
		var d time.Duration
		var err error
		switch key {
		case "initial_backoff", "max_backoff", "max_stay":
			d, err = parseDuration(value)
			if err == nil && d == 0 {
				err = fmt.Errorf("the core refuses %s", a)
			}
		case "pop_from_backoff":
			b, perr := parseBool(value)
			cfg.DisablePopFromBackoff, err = !b, perr
		default:
			err = fmt.Errorf("unknown option %q", a)
		}
		if err != nil {
			return err
		}
		switch key {
		case "initial_backoff":
			cfg.InitialBackoff = d
		case "max_backoff":
			cfg.MaxBackoff = d
		case "max_stay":
			cfg.MaxUnschedulableStay = d
		}
	}
	return nil
}

// ---- values -------------------------------------------------------------

// parseDuration reads a non-negative integer with a unit, at most 2^64-1
// ns (saturated to the largest time.Duration).
func parseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   uint64
	}{{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			hi, ns := bits.Mul64(n, u.unit)
			if hi != 0 {
				return 0, fmt.Errorf("duration %q is above 2^64-1 ns", s)
			}
			if ns > math.MaxInt64 {
				return math.MaxInt64, nil
			}
			return time.Duration(ns), nil
		}
	}
	return 0, fmt.Errorf("bad duration %q", s)
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("bad bool %q", s)
}

// parseCount reads a plain non-negative integer.
func parseCount(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("bad count %q", s)
	}
	return int(n), nil
}

// parsePriority reads a decimal 32-bit signed integer ("-" for negative).
func parsePriority(s string) (int, error) {
	if strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("bad priority %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad priority %q", s)
	}
	return int(n), nil
}

func parsePlace(s string) (workqueue.Place, error) {
	for p := workqueue.PlaceNone; p <= workqueue.PlaceInFlight; p++ {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("bad place %q", s)
}

// splitArgs splits a limiter's arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func buildLimiter[T comparable](spec string) (workqueue.TypedRateLimiter[T], error) {
	name, inner, hasArgs := strings.Cut(spec, "(")
	var args []string
	if hasArgs {
		if !strings.HasSuffix(inner, ")") {
			return nil, fmt.Errorf("bad limiter %q", spec)
		}
		args = splitArgs(strings.TrimSuffix(inner, ")"))
	}
	durations := func(want int) ([]time.Duration, error) {
		if len(args) < want {
			return nil, fmt.Errorf("limiter %q needs %d arguments", spec, want)
		}
		ds := make([]time.Duration, want)
		for i := range ds {
			d, err := parseDuration(args[i])
			if err != nil {
				return nil, err
			}
			ds[i] = d
		}
		return ds, nil
	}
	switch name {
	case "exp":
		ds, err := durations(2)
		if err != nil || len(args) != 2 {
			return nil, fmt.Errorf("bad %q: %v", spec, err)
		}
		if ds[0] <= 0 || ds[1] < ds[0] {
			return nil, fmt.Errorf("the core refuses %q", spec)
		}
		return workqueue.NewTypedItemExponentialFailureRateLimiter[T](ds[0], ds[1]), nil
	case "fastslow":
		if len(args) != 3 {
			return nil, fmt.Errorf("bad %q", spec)
		}
		ds, err := durations(2)
		if err != nil {
			return nil, err
		}
		n, err := parseCount(args[2])
		if err != nil {
			return nil, err
		}
		return workqueue.NewTypedItemFastSlowRateLimiter[T](ds[0], ds[1], n), nil
	case "bucket":
		if len(args) != 2 {
			return nil, fmt.Errorf("bad %q", spec)
		}
		rate, err := strconv.ParseFloat(args[0], 64)
		if err != nil {
			return nil, err
		}
		burst, err := parseCount(args[1])
		if err != nil {
			return nil, err
		}
		return workqueue.NewTypedTokenBucketRateLimiter[T](rate, burst), nil
	case "maxof":
		var members []workqueue.TypedRateLimiter[T]
		for _, a := range args {
			m, err := buildLimiter[T](a)
			if err != nil {
				return nil, err
			}
			members = append(members, m)
		}
		return workqueue.NewTypedMaxOfRateLimiter(members...), nil
	case "maxwait":
		if len(args) != 2 {
			return nil, fmt.Errorf("bad %q", spec)
		}
		inner, err := buildLimiter[T](args[0])
		if err != nil {
			return nil, err
		}
		d, err := parseDuration(args[1])
		if err != nil {
			return nil, err
		}
		return workqueue.NewTypedWithMaxWaitRateLimiter(inner, d), nil
	case "default_controller":
		if hasArgs {
			return nil, fmt.Errorf("bad %q", spec)
		}
		return workqueue.DefaultTypedControllerRateLimiter[T](), nil
	case "default_item":
		if hasArgs {
			return nil, fmt.Errorf("bad %q", spec)
		}
		return workqueue.DefaultTypedItemBasedRateLimiter[T](), nil
	}
	return nil, fmt.Errorf("unknown limiter %q", spec)
}

// goSideLimiter hides that a limiter is native, so a RawQueue asks it
// from Go.
type goSideLimiter[T comparable] struct {
	l workqueue.TypedRateLimiter[T]
}

func (g goSideLimiter[T]) When(item T) time.Duration { return g.l.When(item) }
func (g goSideLimiter[T]) Forget(item T)             { g.l.Forget(item) }
func (g goSideLimiter[T]) NumRequeues(item T) int    { return g.l.NumRequeues(item) }
func (g goSideLimiter[T]) WhenWithClock(item T, c *workqueue.ManualClock) time.Duration {
	return g.l.(workqueue.ClockedRateLimiter[T]).WhenWithClock(item, c)
}

// ---- queue subjects ---------------------------------------------------------

// metricValues is what a `metrics` step reads.
type metricValues struct {
	depth, adds, retries                   int64
	queueCount, workCount                  int64
	queueSum, workSum, unfinished, longest float64
	// depthByPriority and depthOther are workqueue_depth_by_priority, the
	// library's only: a client-go MetricsProvider has no such family.
	depthByPriority []workqueue.PriorityLen
	depthOther      uint64
}

// subjectMetrics is what a subject's metrics show: the library's, and its
// provider's if it has one; nil for an unnamed queue (ok false).
func subjectMetrics(m workqueue.Metrics, ok bool, prov *testProvider) []metricValues {
	if !ok {
		return nil
	}
	out := []metricValues{nativeValues(m)}
	if prov != nil {
		out = append(out, providerValues(prov))
	}
	return out
}

func nativeValues(m workqueue.Metrics) metricValues {
	return metricValues{
		depth: m.Depth, adds: int64(m.Adds), retries: int64(m.Retries),
		queueCount: int64(m.QueueDuration.Count), queueSum: m.QueueDuration.Sum,
		workCount: int64(m.WorkDuration.Count), workSum: m.WorkDuration.Sum,
		unfinished: m.UnfinishedWorkSeconds, longest: m.LongestRunningProcessorSeconds,
		depthByPriority: m.DepthByPriority, depthOther: m.DepthOtherPriorities,
	}
}

func providerValues(p *testProvider) metricValues {
	_, qs, qc := p.latency.observations()
	_, ws, wc := p.duration.observations()
	return metricValues{
		depth: p.depth.count(), adds: p.adds.count(), retries: p.retries.count(),
		queueCount: int64(qc), queueSum: qs, workCount: int64(wc), workSum: ws,
		unfinished: p.unfinished.value(), longest: p.longest.value(),
	}
}

// queueSubject is what a queue scenario drives.
type queueSubject interface {
	add(k uint64) bool
	addBatch(ks []uint64) int
	addAfter(k uint64, d time.Duration) bool
	addRateLimited(k uint64) (time.Duration, bool)
	forget(k uint64)
	numRequeues(k uint64) int
	length() int
	processingLen() int
	delayedLen() int
	tryGet() (k uint64, ok, shutdown bool)
	tryGetBatch(max int) ([]uint64, bool)
	done(k uint64) bool
	shutdown()
	drainFor(d time.Duration) bool
	shuttingDown() bool
	close()

	addWithPriority(k uint64, p int) bool
	addBatchWithPriority(ks []uint64, p int) int
	addAfterWithPriority(k uint64, d time.Duration, p int) bool
	addRateLimitedWithPriority(k uint64, p int) (time.Duration, bool)
	tryGetWithPriority() (k uint64, p int, ok, shutdown bool)
	lenByPriority() []workqueue.PriorityLen

	// metrics are the values to check: the library's, and the provider's
	// when the subject has one.
	metrics() []metricValues
}

type rawSubject struct {
	q    *workqueue.RawQueue
	prov *testProvider
}

func (s rawSubject) add(k uint64) bool                       { return s.q.TryAdd(k) }
func (s rawSubject) addBatch(ks []uint64) int                { return s.q.AddBatch(ks) }
func (s rawSubject) addAfter(k uint64, d time.Duration) bool { return s.q.TryAddAfter(k, d) }
func (s rawSubject) addRateLimited(k uint64) (time.Duration, bool) {
	return s.q.TryAddRateLimited(k)
}
func (s rawSubject) forget(k uint64)               { s.q.Forget(k) }
func (s rawSubject) numRequeues(k uint64) int      { return s.q.NumRequeues(k) }
func (s rawSubject) length() int                   { return s.q.Len() }
func (s rawSubject) processingLen() int            { return s.q.ProcessingLen() }
func (s rawSubject) delayedLen() int               { return s.q.DelayedLen() }
func (s rawSubject) tryGet() (uint64, bool, bool)  { return s.q.TryGet() }
func (s rawSubject) done(k uint64) bool            { return s.q.TryDone(k) }
func (s rawSubject) shutdown()                     { s.q.ShutDown() }
func (s rawSubject) drainFor(d time.Duration) bool { return s.q.ShutDownWithDrainTimeout(d) }
func (s rawSubject) shuttingDown() bool            { return s.q.ShuttingDown() }
func (s rawSubject) close()                        { s.q.Close() }
func (s rawSubject) tryGetBatch(max int) ([]uint64, bool) {
	buf := make([]uint64, max)
	n, down := s.q.TryGetBatch(buf)
	return buf[:n], down
}
func (s rawSubject) addWithPriority(k uint64, p int) bool { return s.q.TryAddWithPriority(k, p) }
func (s rawSubject) addBatchWithPriority(ks []uint64, p int) int {
	return s.q.AddBatchWithPriority(ks, p)
}
func (s rawSubject) addAfterWithPriority(k uint64, d time.Duration, p int) bool {
	return s.q.TryAddAfterWithPriority(k, d, p)
}
func (s rawSubject) addRateLimitedWithPriority(k uint64, p int) (time.Duration, bool) {
	return s.q.TryAddRateLimitedWithPriority(k, p)
}
func (s rawSubject) tryGetWithPriority() (uint64, int, bool, bool) { return s.q.TryGetWithPriority() }
func (s rawSubject) lenByPriority() []workqueue.PriorityLen        { return s.q.LenByPriority() }
func (s rawSubject) metrics() []metricValues {
	m, ok := s.q.Metrics()
	return subjectMetrics(m, ok, s.prov)
}

// typedSubject runs a Typed[string] whose items are "key-<K>".
type typedSubject struct {
	q    *workqueue.Typed[string]
	prov *testProvider
}

func name(k uint64) string { return "key-" + strconv.FormatUint(k, 10) }
func unname(s string) uint64 {
	k, err := strconv.ParseUint(strings.TrimPrefix(s, "key-"), 10, 64)
	if err != nil {
		panic(err)
	}
	return k
}

func names(ks []uint64) []string {
	items := make([]string, len(ks))
	for i, k := range ks {
		items[i] = name(k)
	}
	return items
}

func (s typedSubject) add(k uint64) bool                       { return s.q.TryAdd(name(k)) }
func (s typedSubject) addBatch(ks []uint64) int                { return s.q.AddBatch(names(ks)) }
func (s typedSubject) addAfter(k uint64, d time.Duration) bool { return s.q.TryAddAfter(name(k), d) }
func (s typedSubject) addRateLimited(k uint64) (time.Duration, bool) {
	return s.q.TryAddRateLimited(name(k))
}
func (s typedSubject) forget(k uint64)          { s.q.Forget(name(k)) }
func (s typedSubject) numRequeues(k uint64) int { return s.q.NumRequeues(name(k)) }
func (s typedSubject) length() int              { return s.q.Len() }
func (s typedSubject) processingLen() int       { return s.q.ProcessingLen() }
func (s typedSubject) delayedLen() int          { return s.q.DelayedLen() }
func (s typedSubject) tryGet() (uint64, bool, bool) {
	item, ok, down := s.q.TryGet()
	if !ok {
		return 0, false, down
	}
	return unname(item), true, down
}
func (s typedSubject) tryGetBatch(max int) ([]uint64, bool) {
	items, down := s.q.TryGetBatch(max)
	keys := make([]uint64, len(items))
	for i, it := range items {
		keys[i] = unname(it)
	}
	return keys, down
}
func (s typedSubject) done(k uint64) bool            { return s.q.TryDone(name(k)) }
func (s typedSubject) shutdown()                     { s.q.ShutDown() }
func (s typedSubject) drainFor(d time.Duration) bool { return s.q.ShutDownWithDrainTimeout(d) }
func (s typedSubject) shuttingDown() bool            { return s.q.ShuttingDown() }
func (s typedSubject) close()                        { s.q.Close() }
func (s typedSubject) addWithPriority(k uint64, p int) bool {
	return s.q.TryAddWithPriority(name(k), p)
}
func (s typedSubject) addBatchWithPriority(ks []uint64, p int) int {
	return s.q.AddBatchWithPriority(names(ks), p)
}
func (s typedSubject) addAfterWithPriority(k uint64, d time.Duration, p int) bool {
	return s.q.TryAddAfterWithPriority(name(k), d, p)
}
func (s typedSubject) addRateLimitedWithPriority(k uint64, p int) (time.Duration, bool) {
	return s.q.TryAddRateLimitedWithPriority(name(k), p)
}
func (s typedSubject) tryGetWithPriority() (uint64, int, bool, bool) {
	item, p, ok, down := s.q.TryGetWithPriority()
	if !ok {
		return 0, 0, false, down
	}
	return unname(item), p, true, down
}
func (s typedSubject) lenByPriority() []workqueue.PriorityLen { return s.q.LenByPriority() }
func (s typedSubject) metrics() []metricValues {
	m, ok := s.q.Metrics()
	return subjectMetrics(m, ok, s.prov)
}

type queueKind struct {
	name     string
	provider bool // only for metrics/
	make     func(spec subjectSpec, clock *workqueue.ManualClock, prov *testProvider) (queueSubject, error)
}

// metricsName makes a metrics queue's name unique in the process (the
// library's registry is global).
var metricsSeq atomic.Int64

func uniqueName(spec subjectSpec) string {
	if spec.name == "" {
		return ""
	}
	return fmt.Sprintf("%s-%d", spec.name, metricsSeq.Add(1))
}

func providerOf(p *testProvider) workqueue.MetricsProvider {
	if p == nil {
		return nil
	}
	return p
}

func makeRaw(spec subjectSpec, clock *workqueue.ManualClock, prov *testProvider, goSide bool) (queueSubject, error) {
	cfg := workqueue.RawQueueConfig{
		Name: uniqueName(spec), Clock: clock, PriorityAging: spec.aging,
		MetricsProvider: providerOf(prov),
	}
	limiter := spec.limiter
	if goSide && limiter == "" {
		limiter = "default_controller"
	}
	if limiter != "" {
		l, err := buildLimiter[uint64](limiter)
		if err != nil {
			return nil, err
		}
		cfg.RateLimiter = l
		if goSide {
			cfg.RateLimiter = goSideLimiter[uint64]{l}
		}
	}
	return rawSubject{workqueue.NewRawQueueWithConfig(cfg), prov}, nil
}

func makeTyped(spec subjectSpec, clock *workqueue.ManualClock, prov *testProvider) (queueSubject, error) {
	cfg := workqueue.TypedRateLimitingQueueConfig[string]{
		Name: uniqueName(spec), Clock: clock, PriorityAging: spec.aging,
		MetricsProvider: providerOf(prov),
	}
	var l workqueue.TypedRateLimiter[string] = workqueue.DefaultTypedControllerRateLimiter[string]()
	if spec.limiter != "" {
		var err error
		if l, err = buildLimiter[string](spec.limiter); err != nil {
			return nil, err
		}
	}
	return typedSubject{workqueue.NewTypedRateLimitingQueueWithConfig(l, cfg), prov}, nil
}

var queueKinds = []queueKind{
	{"raw", false, func(s subjectSpec, c *workqueue.ManualClock, _ *testProvider) (queueSubject, error) {
		return makeRaw(s, c, nil, false)
	}},
	{"raw-go", false, func(s subjectSpec, c *workqueue.ManualClock, _ *testProvider) (queueSubject, error) {
		return makeRaw(s, c, nil, true)
	}},
	{"typed", false, func(s subjectSpec, c *workqueue.ManualClock, _ *testProvider) (queueSubject, error) {
		return makeTyped(s, c, nil)
	}},
	{"raw-provider", true, func(s subjectSpec, c *workqueue.ManualClock, p *testProvider) (queueSubject, error) {
		return makeRaw(s, c, p, false)
	}},
	{"typed-provider", true, func(s subjectSpec, c *workqueue.ManualClock, p *testProvider) (queueSubject, error) {
		return makeTyped(s, c, p)
	}},
}

// ---- checks ----------------------------------------------------------------

func expectOne(st step) (string, error) {
	if st.expected == nil {
		return "", nil
	}
	if len(st.expected) != 1 {
		return "", fmt.Errorf("expected one result, got %q", st.expected)
	}
	return st.expected[0], nil
}

func noResult(st step) error {
	if st.expected != nil {
		return fmt.Errorf("%s takes no result", st.op)
	}
	return nil
}

// checkValue compares got with the step's one expected result, read by
// parse; a step without a result checks nothing.
func checkValue[V comparable](st step, got V, parse func(string) (V, error)) error {
	want, err := expectOne(st)
	if err != nil || want == "" {
		return err
	}
	v, err := parse(want)
	if err != nil {
		return err
	}
	if got != v {
		return fmt.Errorf("got %v, want %v", got, v)
	}
	return nil
}

func checkBool(st step, got bool) error { return checkValue(st, got, parseBool) }

func checkCount(st step, got int) error { return checkValue(st, got, parseCount) }

func checkPlace(st step, got workqueue.Place) error { return checkValue(st, got, parsePlace) }

func checkDuration(st step, got time.Duration, ok bool) error {
	want, err := expectOne(st)
	if err != nil || want == "" {
		return err
	}
	if want == "none" {
		if ok {
			return fmt.Errorf("got %v, want none", got)
		}
		return nil
	}
	d, err := parseDuration(want)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("got none, want %v", d)
	}
	if got != d {
		return fmt.Errorf("got %v (%dns), want %v (%dns)", got, got.Nanoseconds(), d, d.Nanoseconds())
	}
	return nil
}

func argKey(st step, i int) (uint64, error) {
	if len(st.args) <= i {
		return 0, fmt.Errorf("%s: missing argument %d", st.op, i+1)
	}
	k, err := strconv.ParseUint(st.args[i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad key %q", st.args[i])
	}
	return k, nil
}

// argKeys reads the arguments from the i-th on as keys: at least one.
func argKeys(st step, i int) ([]uint64, error) {
	if len(st.args) <= i {
		return nil, fmt.Errorf("%s needs keys", st.op)
	}
	keys := make([]uint64, len(st.args)-i)
	for j := range keys {
		k, err := argKey(st, i+j)
		if err != nil {
			return nil, err
		}
		keys[j] = k
	}
	return keys, nil
}

func argCount(st step, n int) error {
	if len(st.args) != n {
		return fmt.Errorf("%s takes %d arguments, got %d", st.op, n, len(st.args))
	}
	return nil
}

// checkGotKey checks a get's result: "K" (or "K P" with priorities),
// "empty" or "shutdown" (closedWord for a scheduling queue's pop).
func checkGotKey(st step, k uint64, p int, ok, down, withPriority bool, closedWord string) error {
	if st.expected == nil {
		return nil
	}
	var got []string
	switch {
	case ok && withPriority:
		got = []string{strconv.FormatUint(k, 10), strconv.Itoa(p)}
	case ok:
		got = []string{strconv.FormatUint(k, 10)}
	case down:
		got = []string{closedWord}
	default:
		got = []string{"empty"}
	}
	// The expectation must have a valid shape whatever happened.
	switch e := st.expected; {
	case len(e) == 1 && (e[0] == "empty" || e[0] == closedWord):
	case len(e) == 1 && !withPriority:
		if _, err := strconv.ParseUint(e[0], 10, 64); err != nil {
			return fmt.Errorf("bad expected key %q", e[0])
		}
	case len(e) == 2 && withPriority:
		if _, err := strconv.ParseUint(e[0], 10, 64); err != nil {
			return fmt.Errorf("bad expected key %q", e[0])
		}
		if _, err := parsePriority(e[1]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("bad expected result %q", strings.Join(e, " "))
	}
	if !slices.Equal(got, st.expected) {
		return fmt.Errorf("got %s, want %s", strings.Join(got, " "), strings.Join(st.expected, " "))
	}
	return nil
}

// checkLevels checks "P:N P:N ..." (highest first, each priority once, N
// at least 1) or "none" against levels and, with listed > 0 (`metrics
// depth_by_priority`), the ready items beyond them: at most listed
// levels, then "other:N" (N at least 1), last and only after exactly
// listed levels.
func checkLevels(st step, got []workqueue.PriorityLen, gotOther uint64, listed int) error {
	if st.expected == nil {
		return nil
	}
	var want []workqueue.PriorityLen
	var wantOther uint64
	if !(len(st.expected) == 1 && st.expected[0] == "none") {
		for i, tok := range st.expected {
			ps, ns, ok := strings.Cut(tok, ":")
			if !ok {
				return fmt.Errorf("bad %s entry %q", st.op, tok)
			}
			n, err := parseCount(ns)
			if err != nil || n < 1 {
				return fmt.Errorf("bad %s count %q", st.op, tok)
			}
			if listed > 0 && ps == "other" {
				if i != len(st.expected)-1 || len(want) != listed {
					return fmt.Errorf("other:N comes last, after exactly %d levels: %q", listed, strings.Join(st.expected, " "))
				}
				wantOther = uint64(n)
				continue
			}
			p, err := parsePriority(ps)
			if err != nil {
				return err
			}
			if listed > 0 && len(want) == listed {
				return fmt.Errorf("at most %d levels are listed, the rest as other:N: %q", listed, strings.Join(st.expected, " "))
			}
			if len(want) > 0 && p >= want[len(want)-1].Priority {
				return fmt.Errorf("%s must list priorities once, highest first: %q", st.op, strings.Join(st.expected, " "))
			}
			want = append(want, workqueue.PriorityLen{Priority: p, Len: n})
		}
	}
	if !slices.Equal(got, want) || gotOther != wantOther {
		return fmt.Errorf("got %s, want %s", showLevels(got, gotOther), strings.Join(st.expected, " "))
	}
	return nil
}

// showLevels writes levels as a scenario does, then other:N if any.
func showLevels(levels []workqueue.PriorityLen, other uint64) string {
	var words []string
	for _, l := range levels {
		words = append(words, fmt.Sprintf("%d:%d", l.Priority, l.Len))
	}
	if other > 0 {
		words = append(words, fmt.Sprintf("other:%d", other))
	}
	if len(words) == 0 {
		return "none"
	}
	return strings.Join(words, " ")
}

// checkMetric checks a `metrics NAME` step against every value source.
func checkMetric(st step, sources []metricValues) error {
	if err := argCount(st, 1); err != nil {
		return err
	}
	if len(sources) == 0 {
		return fmt.Errorf("the queue keeps no metrics")
	}
	if st.args[0] == "depth_by_priority" {
		// Metrics carries the family's bounded label set.
		lib := sources[0]
		return checkLevels(st, lib.depthByPriority, lib.depthOther, workqueue.MetricsPriorities)
	}
	want, err := expectOne(st)
	if err != nil {
		return err
	}
	what := st.args[0]
	for i, v := range sources {
		source := []string{"library", "provider"}[min(i, 1)]
		var count int64
		var dur float64
		isDur := false
		switch what {
		case "depth":
			count = v.depth
		case "adds":
			count = v.adds
		case "retries":
			count = v.retries
		case "queue_duration_count":
			count = v.queueCount
		case "work_duration_count":
			count = v.workCount
		case "queue_duration_sum":
			dur, isDur = v.queueSum, true
		case "work_duration_sum":
			dur, isDur = v.workSum, true
		case "unfinished_work":
			dur, isDur = v.unfinished, true
		case "longest_running":
			dur, isDur = v.longest, true
		default:
			return fmt.Errorf("unknown metric %q", what)
		}
		if want == "" {
			continue
		}
		if isDur {
			d, err := parseDuration(want)
			if err != nil {
				return err
			}
			if math.Abs(dur*1e9-float64(d)) > 1 {
				return fmt.Errorf("%s: got %gs, want %v", source, dur, d)
			}
			continue
		}
		var n int64
		if what == "depth" {
			n, err = strconv.ParseInt(want, 10, 64)
		} else {
			var c int
			c, err = parseCount(want)
			n = int64(c)
		}
		if err != nil {
			return fmt.Errorf("bad expected %s %q", what, want)
		}
		if count != n {
			return fmt.Errorf("%s: got %d, want %d", source, count, n)
		}
	}
	return nil
}

// sameMetrics checks that the provider (if any) received the library's
// values.
func sameMetrics(sources []metricValues) error {
	if len(sources) < 2 {
		return nil
	}
	lib, prov := sources[0], sources[1]
	near := func(a, b float64, n int64) bool { return math.Abs(a-b)*1e9 <= float64(max(n, 1)) }
	if lib.depth != prov.depth || lib.adds != prov.adds || lib.retries != prov.retries ||
		lib.queueCount != prov.queueCount || lib.workCount != prov.workCount ||
		!near(lib.queueSum, prov.queueSum, lib.queueCount) || !near(lib.workSum, prov.workSum, lib.workCount) ||
		!near(lib.unfinished, prov.unfinished, 1) || !near(lib.longest, prov.longest, 1) {
		return fmt.Errorf("the provider received %+v, the library has %+v", prov, lib)
	}
	return nil
}

// ---- queue steps ---------------------------------------------------------------

// runQueueStep runs one step of a queue scenario of folder kind.
func runQueueStep(q queueSubject, clock *workqueue.ManualClock, kind string, st step) error {
	switch st.op {
	case "add", "done", "forget", "num_requeues", "add_rate_limited":
		if err := argCount(st, 1); err != nil {
			return err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return err
		}
		switch st.op {
		case "add":
			return checkBool(st, q.add(k))
		case "done":
			return checkBool(st, q.done(k))
		case "forget":
			if err := noResult(st); err != nil {
				return err
			}
			q.forget(k)
			return nil
		case "num_requeues":
			return checkCount(st, q.numRequeues(k))
		default:
			d, ok := q.addRateLimited(k)
			return checkDuration(st, d, ok)
		}
	case "add_batch":
		keys, err := argKeys(st, 0)
		if err != nil {
			return err
		}
		return checkCount(st, q.addBatch(keys))
	case "add_after":
		if err := argCount(st, 2); err != nil {
			return err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return err
		}
		d, err := parseDuration(st.args[1])
		if err != nil {
			return err
		}
		return checkBool(st, q.addAfter(k, d))
	case "len", "processing_len", "delayed_len", "shutting_down":
		if err := argCount(st, 0); err != nil {
			return err
		}
		switch st.op {
		case "len":
			return checkCount(st, q.length())
		case "processing_len":
			return checkCount(st, q.processingLen())
		case "delayed_len":
			return checkCount(st, q.delayedLen())
		default:
			return checkBool(st, q.shuttingDown())
		}
	case "get":
		if err := argCount(st, 0); err != nil {
			return err
		}
		k, ok, down := q.tryGet()
		return checkGotKey(st, k, 0, ok, down, false, "shutdown")
	case "get_batch":
		if err := argCount(st, 1); err != nil {
			return err
		}
		n, err := parseCount(st.args[0])
		if err != nil || n < 1 {
			return fmt.Errorf("bad get_batch size %q", st.args[0])
		}
		keys, down := q.tryGetBatch(n)
		var got []string
		switch {
		case len(keys) > 0:
			for _, k := range keys {
				got = append(got, strconv.FormatUint(k, 10))
			}
		case down:
			got = []string{"shutdown"}
		default:
			got = []string{"empty"}
		}
		if st.expected != nil && !slices.Equal(got, st.expected) {
			return fmt.Errorf("got %s, want %s", strings.Join(got, " "), strings.Join(st.expected, " "))
		}
		return nil
	case "shutdown":
		if err := argCount(st, 0); err != nil {
			return err
		}
		if err := noResult(st); err != nil {
			return err
		}
		q.shutdown()
		return nil
	case "drain_for":
		if err := argCount(st, 1); err != nil {
			return err
		}
		d, err := parseDuration(st.args[0])
		if err != nil {
			return err
		}
		return checkBool(st, q.drainFor(d))
	case "step", "set":
		return runClockStep(clock, st)
	}
	switch {
	case kind == kindMetrics && st.op == "metrics":
		return checkMetric(st, q.metrics())
	case kind == kindPriority || kind == kindMetrics:
		return runPriorityStep(q, kind, st)
	}
	return fmt.Errorf("unknown step %q in %s scenarios", st.op, kind)
}

// runPriorityStep runs a priority step (priority/ and metrics/).
func runPriorityStep(q queueSubject, kind string, st step) error {
	switch st.op {
	case "add_batch_with_priority":
		// The priority, then the keys.
		if len(st.args) == 0 {
			return fmt.Errorf("add_batch_with_priority needs a priority and keys")
		}
		p, err := parsePriority(st.args[0])
		if err != nil {
			return err
		}
		keys, err := argKeys(st, 1)
		if err != nil {
			return err
		}
		return checkCount(st, q.addBatchWithPriority(keys, p))
	case "add_with_priority", "add_rate_limited_with_priority":
		if err := argCount(st, 2); err != nil {
			return err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return err
		}
		p, err := parsePriority(st.args[1])
		if err != nil {
			return err
		}
		if st.op == "add_with_priority" {
			return checkBool(st, q.addWithPriority(k, p))
		}
		d, ok := q.addRateLimitedWithPriority(k, p)
		return checkDuration(st, d, ok)
	case "add_after_with_priority":
		if err := argCount(st, 3); err != nil {
			return err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return err
		}
		d, err := parseDuration(st.args[1])
		if err != nil {
			return err
		}
		p, err := parsePriority(st.args[2])
		if err != nil {
			return err
		}
		return checkBool(st, q.addAfterWithPriority(k, d, p))
	case "get_with_priority":
		if err := argCount(st, 0); err != nil {
			return err
		}
		k, p, ok, down := q.tryGetWithPriority()
		return checkGotKey(st, k, p, ok, down, true, "shutdown")
	case "len_by_priority":
		if err := argCount(st, 0); err != nil {
			return err
		}
		return checkLevels(st, q.lenByPriority(), 0, 0)
	}
	return fmt.Errorf("unknown step %q in %s scenarios", st.op, kind)
}

func runClockStep(clock *workqueue.ManualClock, st step) error {
	if err := argCount(st, 1); err != nil {
		return err
	}
	if err := noResult(st); err != nil {
		return err
	}
	d, err := parseDuration(st.args[0])
	if err != nil {
		return err
	}
	if st.op == "step" {
		clock.Step(d)
	} else {
		clock.Set(d)
	}
	return nil
}

// runLimiterStep runs one step on a limiter subject; key turns a scenario
// key into the limiter's item.
func runLimiterStep[T comparable](l workqueue.TypedRateLimiter[T], key func(uint64) T, clock *workqueue.ManualClock, st step) error {
	switch st.op {
	case "when", "forget", "num_requeues":
		if err := argCount(st, 1); err != nil {
			return err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return err
		}
		switch st.op {
		case "when":
			return checkDuration(st, l.(workqueue.ClockedRateLimiter[T]).WhenWithClock(key(k), clock), true)
		case "forget":
			if err := noResult(st); err != nil {
				return err
			}
			l.Forget(key(k))
			return nil
		default:
			return checkCount(st, l.NumRequeues(key(k)))
		}
	case "step", "set":
		return runClockStep(clock, st)
	}
	return fmt.Errorf("step %q is not a limiter step", st.op)
}

// ---- scheduling queue subjects ----------------------------------------------------

type schedSubject interface {
	add(k uint64, p int) bool
	update(k uint64, p int) workqueue.Place
	del(k uint64) bool
	tryPop() (k uint64, p int, ok, closed bool)
	done(k uint64) bool
	requeueBackoff(k uint64) workqueue.Place
	requeueUnschedulable(k uint64) workqueue.Place
	moveAll(event string) int
	activeLen() int
	backoffLen() int
	unschedulableLen() int
	inFlightLen() int
	place(k uint64) workqueue.Place
	attempts(k uint64) int
	close()
	closed() bool
	// check verifies invariants after every step.
	check() error
}

type rawSched struct{ q *workqueue.RawSchedulingQueue }

func (s rawSched) add(k uint64, p int) bool                      { return s.q.Add(k, p) }
func (s rawSched) update(k uint64, p int) workqueue.Place        { return s.q.Update(k, p) }
func (s rawSched) del(k uint64) bool                             { return s.q.Delete(k) }
func (s rawSched) tryPop() (uint64, int, bool, bool)             { return s.q.TryPop() }
func (s rawSched) done(k uint64) bool                            { return s.q.Done(k) }
func (s rawSched) requeueBackoff(k uint64) workqueue.Place       { return s.q.RequeueBackoff(k) }
func (s rawSched) requeueUnschedulable(k uint64) workqueue.Place { return s.q.RequeueUnschedulable(k) }
func (s rawSched) moveAll(event string) int                      { return s.q.MoveAllToActiveOrBackoff(event) }
func (s rawSched) activeLen() int                                { return s.q.ActiveLen() }
func (s rawSched) backoffLen() int                               { return s.q.BackoffLen() }
func (s rawSched) unschedulableLen() int                         { return s.q.UnschedulableLen() }
func (s rawSched) inFlightLen() int                              { return s.q.InFlightLen() }
func (s rawSched) place(k uint64) workqueue.Place                { return s.q.Place(k) }
func (s rawSched) attempts(k uint64) int                         { return s.q.Attempts(k) }
func (s rawSched) close()                                        { s.q.Close() }
func (s rawSched) closed() bool                                  { return s.q.Closed() }
func (s rawSched) check() error                                  { return nil }

type typedSched struct {
	q *workqueue.SchedulingQueue[string]
}

func (s typedSched) add(k uint64, p int) bool               { return s.q.Add(name(k), p) }
func (s typedSched) update(k uint64, p int) workqueue.Place { return s.q.Update(name(k), p) }
func (s typedSched) del(k uint64) bool                      { return s.q.Delete(name(k)) }
func (s typedSched) tryPop() (uint64, int, bool, bool) {
	item, p, ok, closed := s.q.TryPop()
	if !ok {
		return 0, 0, false, closed
	}
	return unname(item), p, true, closed
}
func (s typedSched) done(k uint64) bool                      { return s.q.Done(name(k)) }
func (s typedSched) requeueBackoff(k uint64) workqueue.Place { return s.q.RequeueBackoff(name(k)) }
func (s typedSched) requeueUnschedulable(k uint64) workqueue.Place {
	return s.q.RequeueUnschedulable(name(k))
}
func (s typedSched) moveAll(event string) int       { return s.q.MoveAllToActiveOrBackoff(event) }
func (s typedSched) activeLen() int                 { return s.q.ActiveLen() }
func (s typedSched) backoffLen() int                { return s.q.BackoffLen() }
func (s typedSched) unschedulableLen() int          { return s.q.UnschedulableLen() }
func (s typedSched) inFlightLen() int               { return s.q.InFlightLen() }
func (s typedSched) place(k uint64) workqueue.Place { return s.q.Place(name(k)) }
func (s typedSched) attempts(k uint64) int          { return s.q.Attempts(name(k)) }
func (s typedSched) close()                         { s.q.Close() }
func (s typedSched) closed() bool                   { return s.q.Closed() }
func (s typedSched) check() error {
	held := s.q.ActiveLen() + s.q.BackoffLen() + s.q.UnschedulableLen() + s.q.InFlightLen()
	if n := s.q.InternedKeys(); n != held {
		return fmt.Errorf("the interner holds %d items, the queue %d", n, held)
	}
	return nil
}

var schedKinds = []struct {
	name string
	make func(cfg workqueue.SchedulingQueueConfig) (schedSubject, error)
}{
	{"sched-raw", func(cfg workqueue.SchedulingQueueConfig) (schedSubject, error) {
		q, err := workqueue.NewRawSchedulingQueue(cfg)
		if err != nil {
			return nil, err
		}
		return rawSched{q}, nil
	}},
	{"sched-typed", func(cfg workqueue.SchedulingQueueConfig) (schedSubject, error) {
		q, err := workqueue.NewSchedulingQueue[string](cfg)
		if err != nil {
			return nil, err
		}
		return typedSched{q}, nil
	}},
}

func runSchedStep(q schedSubject, clock *workqueue.ManualClock, st step) error {
	keyOnly := func() (uint64, error) {
		if err := argCount(st, 1); err != nil {
			return 0, err
		}
		return argKey(st, 0)
	}
	keyPrio := func() (uint64, int, error) {
		if err := argCount(st, 2); err != nil {
			return 0, 0, err
		}
		k, err := argKey(st, 0)
		if err != nil {
			return 0, 0, err
		}
		p, err := parsePriority(st.args[1])
		return k, p, err
	}
	switch st.op {
	case "add":
		k, p, err := keyPrio()
		if err != nil {
			return err
		}
		return checkBool(st, q.add(k, p))
	case "update":
		k, p, err := keyPrio()
		if err != nil {
			return err
		}
		return checkPlace(st, q.update(k, p))
	case "delete", "done", "requeue_backoff", "requeue_unschedulable", "place", "attempts":
		k, err := keyOnly()
		if err != nil {
			return err
		}
		switch st.op {
		case "delete":
			return checkBool(st, q.del(k))
		case "done":
			return checkBool(st, q.done(k))
		case "requeue_backoff":
			return checkPlace(st, q.requeueBackoff(k))
		case "requeue_unschedulable":
			return checkPlace(st, q.requeueUnschedulable(k))
		case "place":
			return checkPlace(st, q.place(k))
		default:
			return checkCount(st, q.attempts(k))
		}
	case "pop":
		if err := argCount(st, 0); err != nil {
			return err
		}
		k, p, ok, closed := q.tryPop()
		return checkGotKey(st, k, p, ok, closed, true, "closed")
	case "move_all":
		if err := argCount(st, 1); err != nil {
			return err
		}
		return checkCount(st, q.moveAll(st.args[0]))
	case "active_len", "backoff_len", "unschedulable_len", "in_flight_len", "closed", "close":
		if err := argCount(st, 0); err != nil {
			return err
		}
		switch st.op {
		case "active_len":
			return checkCount(st, q.activeLen())
		case "backoff_len":
			return checkCount(st, q.backoffLen())
		case "unschedulable_len":
			return checkCount(st, q.unschedulableLen())
		case "in_flight_len":
			return checkCount(st, q.inFlightLen())
		case "closed":
			return checkBool(st, q.closed())
		default:
			if err := noResult(st); err != nil {
				return err
			}
			q.close()
			return nil
		}
	case "step", "set":
		return runClockStep(clock, st)
	}
	return fmt.Errorf("unknown step %q in scheduling scenarios", st.op)
}

// ---- running -------------------------------------------------------------------

// run replays sc on every subject its folder takes; report gets each
// failure. It returns the number of runs and steps.
func run(t *testing.T, sc scenario, report func(string)) (runs, steps int) {
	where := func(st step) string { return fmt.Sprintf("%s:%d", sc.file, st.line) }
	fail := func(st step, err error) {
		report(fmt.Sprintf("%s: scenario %s, step %s %s: %v", where(st), sc.name, st.op, strings.Join(st.args, " "), err))
	}
	spec, err := parseSubject(sc.kind, sc.subject)
	if err != nil {
		report(fmt.Sprintf("%s:%d: %v", sc.file, sc.line, err))
		return 0, 0
	}
	switch spec.what {
	case "scheduling_queue":
		for _, kind := range schedKinds {
			t.Run(kind.name+"/"+sc.name, func(t *testing.T) {
				clock := workqueue.NewManualClock()
				cfg := spec.sched
				cfg.Clock = clock
				q, err := kind.make(cfg)
				if err != nil {
					report(fmt.Sprintf("%s:%d: %v", sc.file, sc.line, err))
					return
				}
				defer q.close()
				for _, st := range sc.steps {
					if err := runSchedStep(q, clock, st); err != nil {
						fail(st, err)
					} else if err := q.check(); err != nil {
						fail(st, err)
					}
				}
			})
			runs++
			steps += len(sc.steps)
		}
	case "queue":
		for _, kind := range queueKinds {
			t.Run(kind.name+"/"+sc.name, func(t *testing.T) {
				clock := workqueue.NewManualClock()
				var prov *testProvider
				spec := spec
				if kind.provider {
					// Every queue scenario runs with a provider too; the
					// provider must agree with the library after each step.
					prov = &testProvider{}
					if spec.name == "" {
						spec.name = "bridge"
					}
				}
				q, err := kind.make(spec, clock, prov)
				if err != nil {
					report(fmt.Sprintf("%s:%d: %v", sc.file, sc.line, err))
					return
				}
				defer q.close()
				for _, st := range sc.steps {
					if err := runQueueStep(q, clock, sc.kind, st); err != nil {
						fail(st, err)
					} else if err := sameMetrics(q.metrics()); err != nil {
						fail(st, err)
					}
				}
			})
			runs++
			steps += len(sc.steps)
		}
	case "limiter":
		t.Run("limiter-uint64/"+sc.name, func(t *testing.T) {
			l, err := buildLimiter[uint64](spec.limiter)
			if err != nil {
				report(fmt.Sprintf("%s:%d: %v", sc.file, sc.line, err))
				return
			}
			clock := workqueue.NewManualClock()
			for _, st := range sc.steps {
				if err := runLimiterStep(l, func(k uint64) uint64 { return k }, clock, st); err != nil {
					fail(st, err)
				}
			}
		})
		t.Run("limiter-string/"+sc.name, func(t *testing.T) {
			l, err := buildLimiter[string](spec.limiter)
			if err != nil {
				report(fmt.Sprintf("%s:%d: %v", sc.file, sc.line, err))
				return
			}
			clock := workqueue.NewManualClock()
			for _, st := range sc.steps {
				if err := runLimiterStep(l, name, clock, st); err != nil {
					fail(st, err)
				}
			}
		})
		runs += 2
		steps += 2 * len(sc.steps)
	}
	return runs, steps
}

func TestConformance(t *testing.T) {
	scenarios := loadScenarios(t)
	runs, steps := 0, 0
	perKind := map[string]int{}
	for _, sc := range scenarios {
		r, s := run(t, sc, func(msg string) { t.Error(msg) })
		runs += r
		steps += s
		perKind[sc.kind]++
	}
	t.Logf("replayed %d scenarios (%d top-level, %d scheduling, %d priority, %d metrics; %d runs, %d steps)",
		len(scenarios), perKind[kindTop], perKind[kindScheduling], perKind[kindPriority], perKind[kindMetrics], runs, steps)
}

// TestConformanceRejectsMalformed feeds the runner scenarios the README
// calls malformed and checks that each fails.
func TestConformanceRejectsMalformed(t *testing.T) {
	cases := []struct {
		kind, text string
	}{
		{kindTop, ""}, // a file without a scenario
		{kindTop, "scenario a\nqueue\nfrobnicate 1\nend\n"},
		{kindTop, "scenario a\nqueue\nadd 1 2 => true\nend\n"},
		{kindTop, "scenario a\nqueue\nadd 1 => maybe\nend\n"},
		{kindTop, "scenario a\nqueue\nlen => -1\nend\n"},
		{kindTop, "scenario a\nqueue\nget => 1 2\nend\n"},
		{kindTop, "scenario a\nqueue\nshutdown => true\nend\n"},
		{kindTop, "scenario a\nqueue exp(1s,1ms)\nadd 1\nend\n"},
		{kindTop, "scenario a\nlimiter exp(1ms,1s)\nadd 1\nend\n"},
		{kindTop, "scenario a\nqueue aging=1s\nadd 1\nend\n"},
		{kindTop, "scenario a\nqueue\nadd_with_priority 1 2 => true\nend\n"},
		{kindTop, "scenario a\nqueue\nmetrics depth => 0\nend\n"},
		{kindTop, "scenario a\nqueue\nadd_after 1 1h => true\nend\n"},
		{kindTop, "scenario a\nqueue\nadd_after 1 30000000000s => true\nend\n"},
		{kindTop, "scenario a\nqueue\nadd 1\n"},
		{kindPriority, "scenario a\nqueue aging=0ms\nadd 1\nend\n"},
		{kindPriority, "scenario a\nqueue aging=1s aging=2s\nadd 1\nend\n"},
		{kindPriority, "scenario a\nqueue aging=1s exp(1ms,1s)\nadd 1\nend\n"},
		{kindPriority, "scenario a\nqueue\nadd_with_priority 1 +2 => true\nend\n"},
		{kindPriority, "scenario a\nqueue\nadd_with_priority 1 2147483648 => true\nend\n"},
		{kindPriority, "scenario a\nqueue\nadd_batch_with_priority 1 => 0\nend\n"},
		{kindPriority, "scenario a\nqueue\nadd_batch_with_priority x 1 => 1\nend\n"},
		{kindTop, "scenario a\nqueue\nadd_batch_with_priority 1 2 => 1\nend\n"},
		{kindPriority, "scenario a\nqueue\nlen_by_priority => 0:1 5:1\nend\n"},
		{kindPriority, "scenario a\nqueue\nlen_by_priority => 0:0\nend\n"},
		{kindPriority, "scenario a\nqueue\nlen_by_priority => 0:1 0:1\nend\n"},
		{kindPriority, "scenario a\nqueue\nget_with_priority => 1\nend\n"},
		{kindPriority, "scenario a\nqueue\nmetrics depth => 0\nend\n"},
		{kindPriority, "scenario a\nqueue\nmetrics depth_by_priority => none\nend\n"},
		{kindTop, "scenario a\nqueue\nmetrics depth_by_priority => none\nend\n"},
		{kindMetrics, "scenario a\nqueue\nadd 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a name=b\nadd 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nmetrics colour => 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nmetrics depth => x\nend\n"},
		{kindMetrics, "scenario a\nqueue aging=1s\nadd 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a aging=0ms\nadd 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a aging=1s aging=2s\nadd 1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nadd_with_priority 1 +2 => true\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nmetrics depth_by_priority 1 => none\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nadd_with_priority 1 5 => true\nmetrics depth_by_priority => 5:0\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nadd_with_priority 1 5 => true\nmetrics depth_by_priority => 5:1 5:1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nadd_with_priority 1 5 => true\nmetrics depth_by_priority => 5:x\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\nadd_with_priority 1 5 => true\nmetrics depth_by_priority => 5:1 other:1\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\n" + seventeenPriorities + "metrics depth_by_priority => " + levelsFrom(17, 2) + "\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\n" + seventeenPriorities + "metrics depth_by_priority => " + levelsFrom(17, 3) + " other:0\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\n" + seventeenPriorities + "metrics depth_by_priority => other:2 " + levelsFrom(17, 3) + "\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\n" + seventeenPriorities + "metrics depth_by_priority => " + levelsFrom(17, 3) + " other:2 other:2\nend\n"},
		{kindScheduling, "scenario a\nqueue\nadd 1\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue initial_backoff=0ms\npop\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue initial_backoff=2s max_backoff=1s\npop\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue max_stay=1s max_stay=2s\npop\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue pop_from_backoff=yes\npop\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue colour=red\npop\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue\nadd 1 => true\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue\npop => 1\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue\nplace 1 => nowhere\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue\nlen => 0\nend\n"},
		{kindScheduling, "scenario a\nscheduling_queue\nclose => true\nend\n"},
	}
	for _, c := range cases {
		var problems []string
		scs, err := parseScenarios("malformed.scn", c.kind, c.text)
		if err != nil {
			problems = append(problems, err.Error())
		}
		for _, sc := range scs {
			t.Run("", func(t *testing.T) {
				run(t, sc, func(msg string) { problems = append(problems, msg) })
			})
		}
		if len(problems) == 0 {
			t.Errorf("%s scenario not rejected:\n%s", c.kind, c.text)
		}
	}
	// And well-formed ones pass, so the cases above fail for their flaw.
	for _, ok := range []struct{ kind, text string }{
		{kindPriority, "scenario a\nqueue aging=1s\nadd_with_priority 1 -2 => true\nlen_by_priority => -2:1\nget_with_priority => 1 -2\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a aging=1s\nadd_with_priority 1 -2 => true\nmetrics depth_by_priority => -2:1\nlen_by_priority => -2:1\nget_with_priority => 1 -2\nmetrics depth_by_priority => none\nend\n"},
		{kindMetrics, "scenario a\nqueue name=a\n" + seventeenPriorities + "metrics depth_by_priority => " + levelsFrom(17, 3) + " other:2\nlen_by_priority => " + levelsFrom(17, 1) + "\nend\n"},
	} {
		scs, err := parseScenarios("ok.scn", ok.kind, ok.text)
		if err != nil {
			t.Fatal(err)
		}
		var problems []string
		run(t, scs[0], func(msg string) { problems = append(problems, msg) })
		if len(problems) > 0 {
			t.Errorf("well-formed %s scenario rejected: %v", ok.kind, problems)
		}
	}
	_ = errors.New
}

// seventeenPriorities adds one key at each priority from 1 to 17: two
// more than Metrics.DepthByPriority lists.
var seventeenPriorities = func() string {
	var b strings.Builder
	for p := 1; p <= 17; p++ {
		fmt.Fprintf(&b, "add_with_priority %d %d => true\n", p, p)
	}
	return b.String()
}()

// levelsFrom writes "high:1 ... low:1".
func levelsFrom(high, low int) string {
	var words []string
	for p := high; p >= low; p-- {
		words = append(words, fmt.Sprintf("%d:1", p))
	}
	return strings.Join(words, " ")
}
