package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsAgreeOnStreamMemory: the pages that size a node state the idle
// stream's memory measured in docs/PERFORMANCE.md, and say where it comes
// from.
func TestDocsAgreeOnStreamMemory(t *testing.T) {
	perf, err := os.ReadFile("../../docs/PERFORMANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\| server RSS per idle stream \| \*\*([0-9.]+ KiB)\*\*`).FindSubmatch(perf)
	if m == nil {
		t.Fatal("docs/PERFORMANCE.md has no 'server RSS per idle stream' figure")
	}
	figure := string(m[1])
	for _, page := range []string{"README.md", "docs/scaling.md", "docs/operations.md"} {
		b, err := os.ReadFile("../../" + page)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, figure) || !strings.Contains(s, "PERFORMANCE.md") {
			t.Errorf("%s does not state PERFORMANCE.md's %s per idle stream, citing it", page, figure)
		}
		// Every "N KiB … per idle stream" is the measured figure, or the
		// "about 4 KiB" it rounds to.
		for _, c := range regexp.MustCompile(`([0-9.]+) KiB[^.|]{0,40}per idle stream`).FindAllStringSubmatch(s, -1) {
			if c[1]+" KiB" != figure && c[1] != "4" {
				t.Errorf("%s: %q disagrees with PERFORMANCE.md's %s", page, c[0], figure)
			}
		}
	}
}
