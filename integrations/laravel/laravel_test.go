// Package laravel_test drives the PHPUnit tests of the Composer package
// belfry/laravel (this directory) against a real belfry: it builds
// ./cmd/belfry, starts it on 127.0.0.1:0 with a temporary SQLite store,
// installs the package from this directory into a throwaway Composer app
// (a path repository; the Illuminate packages and Guzzle come from Debian
// and are declared as provided), and runs phpunit.
//
// It needs Debian's php-cli, php-curl, php-mbstring, php-xml, php-sqlite3,
// php-laravel-framework, php-guzzlehttp-guzzle, phpunit and composer, and
// skips, saying which is missing, without them. bell_test.go adds
// Chromium (BELFRY_TEST_CHROMIUM) to watch a queued send arrive in the
// users' bells.
package laravel_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	testAPIKey    = "laravel-test-api-key"
	testJWTSecret = "laravel-test-jwt-secret-of-32-bytes-or-more"
	debianPHP     = "/usr/share/php"
)

func TestPHPUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds belfry and runs PHPUnit: runs without -short")
	}
	php, phpunit, composer := requirePHP(t)
	pkg, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	url := startBelfry(t, dir)
	app := composerApp(t, composer, php, pkg, filepath.Join(dir, "app"))

	out := runPHPUnit(t, php, phpunit, pkg, dir, nil, "BELFRY_URL="+url, "BELFRY_TEST_APP="+app)
	if !regexp.MustCompile(`(?m)^OK \([1-9][0-9]* tests?, `).Match(out) {
		t.Fatalf("phpunit did not report its tests as passed:\n%s", out)
	}
	t.Logf("phpunit:\n%s", out)
}

// runPHPUnit runs the package's PHPUnit tests (those args selects, as
// --filter does) with belfry's key and secret and env in the environment
// (BELFRY_URL and BELFRY_TEST_APP at least), temporary files in dir. It
// fails the test when phpunit fails, skips or leaves a test incomplete,
// and returns its output.
func runPHPUnit(t *testing.T, php, phpunit, pkg, dir string, args []string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command(php, append([]string{phpunit, "--configuration", filepath.Join(pkg, "phpunit.xml.dist"),
		"--fail-on-skipped", "--fail-on-incomplete", "--testdox"}, args...)...)
	cmd.Dir = pkg
	cmd.Env = append(os.Environ(), "BELFRY_API_KEY="+testAPIKey, "BELFRY_JWT_SECRET="+testJWTSecret, "TMPDIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("phpunit failed: %v\n%s", err, out)
	}
	return out
}

// requirePHP finds php, phpunit and composer and Debian's Laravel and
// Guzzle, or skips the test naming what is missing.
func requirePHP(t *testing.T) (php, phpunit, composer string) {
	t.Helper()
	var missing []string
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
		}
		return p
	}
	php, phpunit, composer = look("php"), look("phpunit"), look("composer")
	for _, f := range []string{"Illuminate/autoload.php", "GuzzleHttp/autoload.php"} {
		if _, err := os.Stat(filepath.Join(debianPHP, f)); err != nil {
			missing = append(missing, filepath.Join(debianPHP, f))
		}
	}
	if php != "" {
		mods, err := exec.Command(php, "-m").Output()
		if err != nil {
			missing = append(missing, "a working php -m")
		}
		for _, m := range []string{"curl", "mbstring", "pdo_sqlite", "dom"} {
			if !regexp.MustCompile(`(?mi)^` + m + `$`).Match(mods) {
				missing = append(missing, "the PHP extension "+m)
			}
		}
	}
	if len(missing) > 0 {
		t.Skipf("PHP tests of belfry/laravel skipped: missing %s (apt-get install php-cli php-curl php-mbstring php-xml php-sqlite3 php-laravel-framework php-guzzlehttp-guzzle phpunit composer)",
			strings.Join(missing, ", "))
	}
	return php, phpunit, composer
}

// startBelfry builds ./cmd/belfry and serves it on 127.0.0.1:0 with a
// SQLite store in dir, and the flags of extra, until the test ends. It
// returns the base URL.
func startBelfry(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "belfry")
	build := exec.Command("go", "build", "-o", bin, "./cmd/belfry")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/belfry: %v\n%s", err, out)
	}
	logPath := filepath.Join(dir, "belfry.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"serve", "--addr", "127.0.0.1:0",
		"--store", "sqlite:" + filepath.Join(dir, "belfry.db"),
		"--jwt-secret", testJWTSecret, "--api-key", testAPIKey, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "belfry listening on "); ok {
				urls <- u
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	select {
	case u := <-urls:
		return u
	case <-done:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("belfry exited before listening:\n%s", b)
	case <-time.After(60 * time.Second):
		b, _ := os.ReadFile(logPath)
		t.Fatalf("belfry did not print its listen line:\n%s", b)
	}
	return ""
}

// composerApp installs the package at pkg into a new Composer project at
// dir, through a path repository with Packagist off, as an app built on
// Debian's Laravel does: Debian's Illuminate packages and Guzzle are
// declared as provided (Debian's autoloader loads them), and Composer
// autoloads the package and records its extra.laravel for discovery.
func composerApp(t *testing.T, composer, php, pkg, dir string) string {
	t.Helper()
	provided := map[string]string{}
	laravel := debianVersion(t, "php-illuminate-support")
	for _, c := range []string{"contracts", "http", "notifications", "routing", "support", "view"} {
		provided["illuminate/"+c] = laravel
	}
	provided["guzzlehttp/guzzle"] = debianVersion(t, "php-guzzlehttp-guzzle")
	manifest := map[string]any{
		"name":         "belfry/laravel-test-app",
		"type":         "project",
		"repositories": []any{map[string]any{"type": "path", "url": pkg, "options": map[string]any{"symlink": true}}, map[string]any{"packagist.org": false}},
		"require":      map[string]any{"belfry/laravel": "*@dev"},
		"provide":      provided,
		"autoload":     map[string]any{"psr-4": map[string]any{`Belfry\Laravel\Tests\`: filepath.Join(pkg, "tests") + "/"}},
		"config":       map[string]any{"allow-plugins": false},
	}
	b, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bootstrap", "cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "composer.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(php, composer, "install", "--no-interaction", "--no-progress", "--no-plugins", "--no-scripts")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COMPOSER_HOME="+filepath.Join(dir, ".composer"), "COMPOSER_ALLOW_SUPERUSER=1", "COMPOSER_NO_AUDIT=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("composer install of belfry/laravel from %s: %v\n%s", pkg, err, out)
	}
	return dir
}

// debianVersion is the upstream version of an installed Debian package:
// 8.83.26 for 8.83.26+dfsg-2.
func debianVersion(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		t.Skipf("PHP tests of belfry/laravel skipped: the Debian package %s is not installed", pkg)
	}
	v := strings.TrimSpace(string(out))
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.IndexAny(v, "+-~"); i >= 0 {
		v = v[:i]
	}
	if !regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`).MatchString(v) {
		t.Fatalf("cannot read the version of %s: %q", pkg, out)
	}
	return v
}
