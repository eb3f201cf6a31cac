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
# Where it writes them (removed first by make clean).
DIST      ?= dist
# What belfry version prints. Outside a git checkout: dev, unknown and the
# build time.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  = -s -w -X main.buildVersion=$(VERSION) -X main.buildCommit=$(COMMIT) -X main.buildDate=$(DATE)

.PHONY: help run test test-short lint bench release image clean

help:
	@echo 'make run         go run ./cmd/belfry serve (demo mode on 127.0.0.1:8080)'
	@echo 'make test        the full suite, as CI runs it (-race, 45m timeout)'
	@echo 'make test-short  the quick inner loop: go test -short ./...'
	@echo 'make lint        gofmt, go vet, staticcheck, go mod tidy -diff'
	@echo 'make bench       the go test benchmarks, briefly (see docs/PERFORMANCE.md for belfry bench)'
	@echo 'make release     static binaries and SHA256SUMS in dist/'
	@echo 'make clean       remove dist/'
	@echo 'make image      the container image (Dockerfile) with podman, or docker'

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
# (-trimpath), and their SHA-256 sums in $(DIST)/SHA256SUMS. Check a
# download with: sha256sum -c --ignore-missing SHA256SUMS
# Each binary is stamped with VERSION, COMMIT and DATE (belfry version).
# DATE is the commit's, not the clock's, so two builds of one commit give
# the same bytes and the same sums. Build one platform, elsewhere, with
#   make release PLATFORMS=linux/amd64 DIST=/tmp/out
release: clean
	mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; \
		if [ "$$os" = windows ]; then ext=.exe; fi; \
		echo "CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/belfry-$$os-$$arch$$ext ./cmd/belfry"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/belfry-$$os-$$arch$$ext ./cmd/belfry; \
	done
	cd $(DIST) && sha256sum belfry-* > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

# The container image (Dockerfile), stamped like the release binaries.
# ENGINE is podman when installed, else docker. podman builds the docker
# format: its default, OCI, has no HEALTHCHECK.
ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
IMAGE  ?= belfry:$(VERSION)
image:
	$(ENGINE) build $(if $(filter podman,$(notdir $(ENGINE))),--format docker) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) -t $(IMAGE) .

clean:
	rm -rf $(DIST)
