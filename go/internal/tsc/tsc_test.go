package tsc

import (
	"runtime"
	"testing"
	"time"
)

func TestTheCounterAdvancesWithTime(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("read only on x86-64")
	}
	before := Read()
	time.Sleep(2 * time.Millisecond)
	after := Read()
	// Any real counter runs at hundreds of MHz or more: 2 ms is at least
	// 100,000 ticks.
	if after-before < 100_000 {
		t.Fatalf("counter moved %d ticks in 2 ms", after-before)
	}
}
