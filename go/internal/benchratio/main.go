// Command benchratio reads `go test -bench` output on stdin (run with
// -count N for N samples per benchmark), echoes it, and prints the median
// time of every benchmark with the ratio of client-go's time to this
// package's: above 1.00x this package is faster.
//
// Benchmarks pair up by name: .../<keys>/client-go against every other
// .../<keys>/<variant>.
//
//	go test -run '^$' -bench . -count 5 | go run ./internal/benchratio
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var line = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

func main() {
	samples := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		text := sc.Text()
		fmt.Println(text)
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(m[1], "Benchmark")
		if _, seen := samples[name]; !seen {
			order = append(order, name)
		}
		samples[name] = append(samples[name], ns)
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "benchratio: no benchmark results on stdin")
		os.Exit(1)
	}
	median := func(xs []float64) float64 {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	fmt.Println()
	fmt.Printf("%-40s %14s %14s %10s\n", "benchmark (median of samples)", "ns/key", "client-go", "ratio")
	for _, name := range order {
		i := strings.LastIndex(name, "/")
		if i < 0 || name[i+1:] == "client-go" {
			continue
		}
		base := name[:i] + "/client-go"
		ref, ok := samples[base]
		if !ok {
			continue
		}
		ours, theirs := median(samples[name]), median(ref)
		fmt.Printf("%-40s %14.1f %14.1f %9.2fx\n", name, ours, theirs, theirs/ours)
	}
	fmt.Println("(ratio: client-go time / this package's time per key; above 1.00x is faster than client-go)")
}
