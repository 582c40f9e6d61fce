# leakscope container image (see docs/DEPLOY.md).
#
#   docker build -t leakscope .
#   docker run --rm --pid=host --cap-add BPF --cap-add PERFMON --cap-add SYS_PTRACE \
#     --security-opt apparmor=unconfined --security-opt seccomp=unconfined \
#     -v /tmp/leakscope:/out leakscope --container <ID> --out /out
#
# Stage 1 regenerates the BPF objects with clang and fails if they differ
# from the committed ones (a stale object would load code that is not the
# reviewed source), then builds a static binary. The builder runs on the
# build machine's architecture and cross-compiles (Go needs no C
# toolchain: CGO_ENABLED=0); the BPF objects for amd64 and arm64 are both
# built in every case.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
# The same Debian release and clang (14) that generated the committed
# objects: another clang version emits different bytes.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang llvm libbpf-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN cp -r bpf /tmp/committed-bpf \
 && go generate ./bpf/ \
 && diff -r /tmp/committed-bpf bpf \
 || { echo "bpf/: the committed objects are stale; run make generate and commit" >&2; exit 1; }
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /leakscope ./cmd/leakscope

# Stage 2: the binary alone (static: no libc, no shell). It runs as root
# inside the container because the capabilities it needs (BPF, PERFMON,
# SYS_PTRACE) are granted to uid 0 by the runtime; give it no others.
FROM gcr.io/distroless/static-debian12
COPY --from=build /leakscope /leakscope
EXPOSE 9464
ENTRYPOINT ["/leakscope"]
