// Command benchratio reads `go test -bench` output on stdin (run with
// -count N for N samples per benchmark), echoes it, and prints the median
// time of every benchmark with its ratio to each reference measured in the
// same run: the reference's time / this package's, so above 1.00x this
// package is faster.
//
// Benchmarks pair up by name: .../<group>/<variant> against the variants
// of the same group named after a reference: client-go,
// controller-runtime, heap.
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

// references, in the order their columns are printed.
var references = []string{"client-go", "controller-runtime", "heap"}

func isReference(variant string) bool {
	for _, r := range references {
		if variant == r {
			return true
		}
	}
	return false
}

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
	fmt.Printf("%-44s %10s   %-20s %10s %9s\n", "benchmark (median of samples)", "ns/key", "reference", "ns/key", "ratio")
	for _, name := range order {
		i := strings.LastIndex(name, "/")
		if i < 0 || isReference(name[i+1:]) {
			continue
		}
		ours := median(samples[name])
		printed := false
		for _, r := range references {
			ref, ok := samples[name[:i]+"/"+r]
			if !ok {
				continue
			}
			theirs := median(ref)
			label := name
			if printed {
				label = ""
			}
			fmt.Printf("%-44s %10.1f   %-20s %10.1f %8.2fx\n", label, ours, r, theirs, theirs/ours)
			printed = true
		}
		if !printed {
			fmt.Printf("%-44s %10.1f\n", name, ours)
		}
	}
	fmt.Println("(ratio: the reference's time / this package's time per key; above 1.00x is faster than the reference)")
}
