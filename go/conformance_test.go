package workqueue_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The conformance scenarios (../conformance/*.scn) replayed against every
// way this package runs a queue and a limiter:
//
//   - raw:        RawQueue, the limiter inside the library (uint64 keys)
//   - raw-go:     RawQueue with the limiter asked from Go
//   - typed:      Typed[string] (interned keys, limiter asked from Go, the
//                 limiter's own interner, Go composites)
//
// Limiter subjects run on uint64 limiters (native composites) and on
// string limiters (interned keys, Go composites).

// scenarioDir holds the scenarios; WQ_CONFORMANCE_DIR overrides it.
const scenarioDir = "../conformance"

type step struct {
	line     int
	op       string
	args     []string
	expected []string // nil: no check
}

type scenario struct {
	file    string
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
	files, err := filepath.Glob(filepath.Join(dir, "*.scn"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files in %s (%v)", dir, err)
	}
	var all []scenario
	names := map[string]bool{}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		var cur *scenario
		count := 0
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			text := sc.Text()
			if i := strings.IndexByte(text, '#'); i >= 0 {
				text = text[:i]
			}
			tokens := strings.Fields(text)
			if len(tokens) == 0 {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(file), n)
			switch {
			case tokens[0] == "scenario":
				if cur != nil || len(tokens) != 2 {
					t.Fatalf("%s: malformed scenario line", where)
				}
				if names[tokens[1]] {
					t.Fatalf("%s: duplicate scenario %s", where, tokens[1])
				}
				names[tokens[1]] = true
				cur = &scenario{file: filepath.Base(file), line: n, name: tokens[1]}
			case cur == nil:
				t.Fatalf("%s: step outside a scenario", where)
			case tokens[0] == "end":
				if cur.subject == nil || len(cur.steps) == 0 {
					t.Fatalf("%s: scenario %s without a subject or steps", where, cur.name)
				}
				all = append(all, *cur)
				cur = nil
				count++
			case cur.subject == nil:
				if tokens[0] != "queue" && tokens[0] != "limiter" {
					t.Fatalf("%s: expected a subject, got %q", where, tokens[0])
				}
				cur.subject = tokens
			default:
				st := step{line: n, op: tokens[0]}
				rest := tokens[1:]
				for i, tok := range rest {
					if tok == "=>" {
						st.expected = rest[i+1:]
						if len(st.expected) == 0 {
							t.Fatalf("%s: nothing after =>", where)
						}
						rest = rest[:i]
						break
					}
				}
				st.args = rest
				cur.steps = append(cur.steps, st)
			}
		}
		f.Close()
		if cur != nil {
			t.Fatalf("%s: scenario %s has no end", file, cur.name)
		}
		if count == 0 {
			t.Fatalf("%s: no scenario", file)
		}
	}
	return all
}

func parseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			if n > uint64(1<<63-1)/uint64(u.unit) {
				return 1<<63 - 1, nil
			}
			return time.Duration(n) * u.unit, nil
		}
	}
	return 0, fmt.Errorf("bad duration %q", s)
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
		n, err := strconv.Atoi(args[2])
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
		burst, err := strconv.Atoi(args[1])
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
		return workqueue.DefaultTypedControllerRateLimiter[T](), nil
	case "default_item":
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
}

type rawSubject struct{ q *workqueue.RawQueue }

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

// typedSubject runs a Typed[string] whose items are "key-<K>".
type typedSubject struct{ q *workqueue.Typed[string] }

func name(k uint64) string { return "key-" + strconv.FormatUint(k, 10) }
func unname(s string) uint64 {
	k, err := strconv.ParseUint(strings.TrimPrefix(s, "key-"), 10, 64)
	if err != nil {
		panic(err)
	}
	return k
}

func (s typedSubject) add(k uint64) bool { return s.q.TryAdd(name(k)) }
func (s typedSubject) addBatch(ks []uint64) int {
	items := make([]string, len(ks))
	for i, k := range ks {
		items[i] = name(k)
	}
	return s.q.AddBatch(items)
}
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

type queueKind struct {
	name string
	make func(limiterSpec string, clock *workqueue.ManualClock) (queueSubject, error)
}

var queueKinds = []queueKind{
	{"raw", func(spec string, clock *workqueue.ManualClock) (queueSubject, error) {
		cfg := workqueue.RawQueueConfig{Clock: clock}
		if spec != "" {
			l, err := buildLimiter[uint64](spec)
			if err != nil {
				return nil, err
			}
			cfg.RateLimiter = l
		}
		return rawSubject{workqueue.NewRawQueueWithConfig(cfg)}, nil
	}},
	{"raw-go", func(spec string, clock *workqueue.ManualClock) (queueSubject, error) {
		if spec == "" {
			spec = "default_controller"
		}
		l, err := buildLimiter[uint64](spec)
		if err != nil {
			return nil, err
		}
		cfg := workqueue.RawQueueConfig{Clock: clock, RateLimiter: goSideLimiter[uint64]{l}}
		return rawSubject{workqueue.NewRawQueueWithConfig(cfg)}, nil
	}},
	{"typed", func(spec string, clock *workqueue.ManualClock) (queueSubject, error) {
		cfg := workqueue.TypedRateLimitingQueueConfig[string]{Clock: clock}
		if spec == "" {
			return typedSubject{workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), cfg)}, nil
		}
		l, err := buildLimiter[string](spec)
		if err != nil {
			return nil, err
		}
		return typedSubject{workqueue.NewTypedRateLimitingQueueWithConfig(l, cfg)}, nil
	}},
}

func expectOne(st step) (string, error) {
	if st.expected == nil {
		return "", nil
	}
	if len(st.expected) != 1 {
		return "", fmt.Errorf("expected one result, got %q", st.expected)
	}
	return st.expected[0], nil
}

func checkBool(st step, got bool) error {
	want, err := expectOne(st)
	if err != nil || want == "" {
		return err
	}
	if want != "true" && want != "false" {
		return fmt.Errorf("bad expected bool %q", want)
	}
	if strconv.FormatBool(got) != want {
		return fmt.Errorf("got %v, want %s", got, want)
	}
	return nil
}

func checkCount(st step, got int) error {
	want, err := expectOne(st)
	if err != nil || want == "" {
		return err
	}
	n, err := strconv.Atoi(want)
	if err != nil {
		return fmt.Errorf("bad expected count %q", want)
	}
	if got != n {
		return fmt.Errorf("got %d, want %d", got, n)
	}
	return nil
}

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
	return strconv.ParseUint(st.args[i], 10, 64)
}

func argCount(st step, n int) error {
	if len(st.args) != n {
		return fmt.Errorf("%s takes %d arguments, got %d", st.op, n, len(st.args))
	}
	return nil
}

// runQueueStep runs one step on a queue subject.
func runQueueStep(q queueSubject, clock *workqueue.ManualClock, st step) error {
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
			if st.expected != nil {
				return fmt.Errorf("forget takes no result")
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
		if len(st.args) == 0 {
			return fmt.Errorf("add_batch needs keys")
		}
		keys := make([]uint64, len(st.args))
		for i := range st.args {
			k, err := argKey(st, i)
			if err != nil {
				return err
			}
			keys[i] = k
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
		got := "empty"
		switch {
		case ok:
			got = strconv.FormatUint(k, 10)
		case down:
			got = "shutdown"
		}
		want, err := expectOne(st)
		if err != nil || want == "" {
			return err
		}
		if got != want {
			return fmt.Errorf("got %s, want %s", got, want)
		}
		return nil
	case "get_batch":
		if err := argCount(st, 1); err != nil {
			return err
		}
		n, err := strconv.Atoi(st.args[0])
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
		if st.expected != nil && strings.Join(got, " ") != strings.Join(st.expected, " ") {
			return fmt.Errorf("got %s, want %s", strings.Join(got, " "), strings.Join(st.expected, " "))
		}
		return nil
	case "shutdown":
		if err := argCount(st, 0); err != nil {
			return err
		}
		if st.expected != nil {
			return fmt.Errorf("shutdown takes no result")
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
	return fmt.Errorf("unknown queue step %q", st.op)
}

func runClockStep(clock *workqueue.ManualClock, st step) error {
	if err := argCount(st, 1); err != nil {
		return err
	}
	if st.expected != nil {
		return fmt.Errorf("%s takes no result", st.op)
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
			if st.expected != nil {
				return fmt.Errorf("forget takes no result")
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

func TestConformance(t *testing.T) {
	scenarios := loadScenarios(t)
	steps := 0
	runs := 0
	for _, sc := range scenarios {
		where := func(st step) string { return fmt.Sprintf("%s:%d", sc.file, st.line) }
		switch sc.subject[0] {
		case "queue":
			if len(sc.subject) > 2 {
				t.Fatalf("%s:%d: bad subject", sc.file, sc.line)
			}
			spec := ""
			if len(sc.subject) == 2 {
				spec = sc.subject[1]
			}
			for _, kind := range queueKinds {
				t.Run(kind.name+"/"+sc.name, func(t *testing.T) {
					clock := workqueue.NewManualClock()
					q, err := kind.make(spec, clock)
					if err != nil {
						t.Fatalf("%s:%d: %v", sc.file, sc.line, err)
					}
					defer q.close()
					for _, st := range sc.steps {
						if err := runQueueStep(q, clock, st); err != nil {
							t.Errorf("%s: scenario %s, step %s %s: %v", where(st), sc.name, st.op, strings.Join(st.args, " "), err)
						}
					}
				})
				runs++
				steps += len(sc.steps)
			}
		case "limiter":
			if len(sc.subject) != 2 {
				t.Fatalf("%s:%d: bad subject", sc.file, sc.line)
			}
			t.Run("limiter-uint64/"+sc.name, func(t *testing.T) {
				l, err := buildLimiter[uint64](sc.subject[1])
				if err != nil {
					t.Fatalf("%s:%d: %v", sc.file, sc.line, err)
				}
				clock := workqueue.NewManualClock()
				for _, st := range sc.steps {
					if err := runLimiterStep(l, func(k uint64) uint64 { return k }, clock, st); err != nil {
						t.Errorf("%s: scenario %s, step %s %s: %v", where(st), sc.name, st.op, strings.Join(st.args, " "), err)
					}
				}
			})
			t.Run("limiter-string/"+sc.name, func(t *testing.T) {
				l, err := buildLimiter[string](sc.subject[1])
				if err != nil {
					t.Fatalf("%s:%d: %v", sc.file, sc.line, err)
				}
				clock := workqueue.NewManualClock()
				for _, st := range sc.steps {
					if err := runLimiterStep(l, name, clock, st); err != nil {
						t.Errorf("%s: scenario %s, step %s %s: %v", where(st), sc.name, st.op, strings.Join(st.args, " "), err)
					}
				}
			})
			runs += 2
			steps += 2 * len(sc.steps)
		default:
			t.Fatalf("%s:%d: unknown subject %q", sc.file, sc.line, sc.subject[0])
		}
	}
	t.Logf("replayed %d scenarios (%d runs, %d steps)", len(scenarios), runs, steps)
}
