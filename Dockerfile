# belfry's container image: a static binary on an empty base, run as a
# non-root user, with the SQLite store in the /data volume.
#
#   make image                 (podman, else docker; stamps the version)
#   podman run -d -p 8080:8080 -v belfry-data:/data \
#     -e BELFRY_JWT_SECRET=... -e BELFRY_API_KEY=... belfry:<version>
#
# docs/operations.md ("Container image") says how it is built and checked.
# With podman, build with --format docker: the OCI format has no
# HEALTHCHECK and podman drops it.

# The builder. Any image with Go 1.26, a POSIX shell and
# /etc/ssl/certs/ca-certificates.crt will do.
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# What belfry version prints (make image passes git's values).
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.buildVersion=${VERSION} -X main.buildCommit=${COMMIT} -X main.buildDate=${DATE}" \
      -o /out/belfry ./cmd/belfry
# The final image has no shell: its user, /data and /tmp are made here.
RUN mkdir -p /out/etc /out/data && mkdir -m 1777 /out/tmp && \
    echo 'belfry:x:65532:65532:belfry:/data:/sbin/nologin' > /out/etc/passwd && \
    echo 'belfry:x:65532:' > /out/etc/group

FROM scratch
# CA certificates: push services, webhooks and --auth-url are HTTPS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/belfry /belfry
USER 65532:65532
WORKDIR /data
# The SQLite default, in the volume; BELFRY_STORE or --store replace it.
ENV BELFRY_STORE=sqlite:/data/belfry.db
VOLUME /data
EXPOSE 8080
# belfry healthcheck asks http://127.0.0.1:8080/healthz (the image has no
# curl); exit 0 on 200, 1 otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/belfry", "healthcheck"]
# Arguments after the image name are more serve flags. Without
# BELFRY_JWT_SECRET and BELFRY_API_KEY (or --auth-url) belfry runs in
# demo mode, which hands a token for any user to anyone: set them.
ENTRYPOINT ["/belfry", "serve", "--addr", ":8080"]
