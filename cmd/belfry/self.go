package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// selfCommand is how a user runs this program again, for the commands the
// demo banner prints: "go run ./cmd/belfry" when it was started with go
// run, "belfry" when that is on the PATH, else the executable's path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "belfry"
	}
	onPath, _ := exec.LookPath("belfry")
	return commandFor(exe, os.TempDir(), onPath, runPackage())
}

// commandFor decides selfCommand: exe is this executable, tempDir the
// directory go run builds under, onPath what "belfry" resolves to on the
// PATH ("" when nothing), pkg what go run would take to build it again.
func commandFor(exe, tempDir, onPath, pkg string) string {
	if isGoRunBuild(exe, tempDir) {
		return "go run " + pkg
	}
	if onPath != "" && sameFile(onPath, exe) {
		return "belfry"
	}
	return exe
}

// isGoRunBuild reports whether exe was built by go run: go run links into
// $TMPDIR/go-build…/b001/exe/ and deletes the directory on exit.
func isGoRunBuild(exe, tempDir string) bool {
	rel, err := filepath.Rel(tempDir, exe)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return strings.HasPrefix(first, "go-build")
}

// runPackage is the package argument of go run: ./cmd/belfry in a checkout
// (the banner's commands are then run from the repository's root), or the
// module path at its version when it was run as path@version.
func runPackage() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "./cmd/belfry"
	}
	return bi.Path + "@" + bi.Main.Version
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
