# Multi-stage build: the builder regenerates the BPF objects with clang and
# fails if they differ from the committed ones, then builds a static binary.
FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq clang llvm libbpf-dev >/dev/null
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN cp -r bpf /tmp/committed-bpf && go generate ./bpf/ && diff -r /tmp/committed-bpf bpf
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /leakscope ./cmd/leakscope

FROM gcr.io/distroless/static-debian12
COPY --from=build /leakscope /leakscope
# Needs: --pid=host, CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE (or --privileged).
ENTRYPOINT ["/leakscope"]
