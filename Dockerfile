# syntax=docker/dockerfile:1
# auditrelay: a static binary on a distroless base, running as a non-root
# numeric user with a read-only root file system; only /var/lib/auditrelay
# (the state volume: file checkpoints) is written.
#
#   VERSION=$(git describe --tags --always --dirty)
#   docker build --build-arg VERSION=$VERSION -t registry.example.com/auditrelay:$VERSION .
#
# No image is published yet; docs/operations.md ("Container") says where
# releases are meant to publish it.

ARG GO_VERSION=1.26

# The build stage runs on the builder's platform and cross-compiles for
# TARGETARCH: `--platform linux/arm64` needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/auditrelay ./cmd/auditrelay \
 && mkdir -p /out/state

# distroless/static carries the CA certificates, tzdata and /etc/passwd
# with the nonroot user 65532; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="auditrelay" \
      org.opencontainers.image.description="Forwards AI platforms' audit logs to Kafka, OTLP, Splunk HEC, Datadog, files and webhooks" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/auditrelay/auditrelay"
COPY --from=build /out/auditrelay /usr/local/bin/auditrelay
COPY --from=build --chown=65532:65532 /out/state /var/lib/auditrelay
USER 65532:65532
WORKDIR /var/lib/auditrelay
VOLUME ["/var/lib/auditrelay"]
# server.listen must be 0.0.0.0:9464 (not the loopback default) for probes
# and Prometheus to reach it from outside the container.
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/auditrelay"]
CMD ["run", "-c", "/etc/auditrelay/auditrelay.yaml"]
