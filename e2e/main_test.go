package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// belfryBin is the belfry binary built by TestMain; every node runs it.
var belfryBin string

// pgShared is the package's throwaway PostgreSQL cluster, started by the
// first test that needs one (initdb takes seconds) and stopped by TestMain.
var pgShared pgCluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() { // every test starts processes (startNode skips)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "belfry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	belfryBin = filepath.Join(dir, "belfry")
	args := []string{"build", "-o", belfryBin}
	if raceEnabled { // a data race in a node then fails the test too
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/belfry")...)
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building belfry:", err)
		return 1
	}
	defer pgShared.stop()
	return m.Run()
}
