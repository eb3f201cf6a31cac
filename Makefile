# belfry's everyday commands. Each target is one or two plain go commands,
# shown as they run, so you can also type them yourself. `make help` lists
# them. CI does not use this file: it runs .ci/run, which performs the
# same checks and also starts PostgreSQL, Redis and FerretDB.

GO ?= go

# staticcheck, pinned. It runs with `go run pkg@version` rather than from
# a tool directive in go.mod, which would add honnef.co/go/tools and
# golang.org/x/tools to the requirements of every module that imports
# belfry. Keep the version in step with .ci/run.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# `make bench` runs the in-package benchmarks briefly, as a smoke test.
# Narrow and lengthen it for real figures, e.g.
#   make bench PKG=./redisbus BENCH=Decode BENCHTIME=2s
PKG       ?= ./...
BENCH     ?= .
BENCHTIME ?= 100ms

# What `make release` builds: GOOS/GOARCH pairs.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64 windows/amd64

.PHONY: help run test test-short lint bench release clean

help:
	@echo 'make run         go run ./cmd/belfry serve (demo mode on 127.0.0.1:8080)'
	@echo 'make test        the full suite, as CI runs it (-race, 45m timeout)'
	@echo 'make test-short  the quick inner loop: go test -short ./...'
	@echo 'make lint        gofmt, go vet, staticcheck, go mod tidy -diff'
	@echo 'make bench       the go test benchmarks, briefly (see docs/PERFORMANCE.md for belfry bench)'
	@echo 'make release     static binaries and SHA256SUMS in dist/'
	@echo 'make clean       remove dist/'

run:
	$(GO) run ./cmd/belfry serve

# The README's command. Tests of PostgreSQL, Redis, MongoDB (FerretDB) and
# Chromium run when their BELFRY_TEST_* variable is set and skip otherwise.
test:
	$(GO) test -race -count=1 -timeout 45m ./...

test-short:
	$(GO) test -short ./...

# gofmt checks the tracked Go files only: npm packages under
# web/node_modules may ship .go files of their own.
lint:
	@files=$$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*'); \
	out=$$(gofmt -l $$files); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) $(PKG)
	@echo
	@echo 'Load tests of a running server: belfry bench (docs/PERFORMANCE.md).'

# Static binaries (no cgo) for each platform, without local paths
# (-trimpath), and their SHA-256 sums in dist/SHA256SUMS. Check a download
# with: cd dist && sha256sum -c SHA256SUMS
release: clean
	mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; \
		if [ "$$os" = windows ]; then ext=.exe; fi; \
		echo "CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -o dist/belfry-$$os-$$arch$$ext ./cmd/belfry"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -o dist/belfry-$$os-$$arch$$ext ./cmd/belfry; \
	done
	cd dist && sha256sum belfry-* > SHA256SUMS
	@cat dist/SHA256SUMS

clean:
	rm -rf dist
