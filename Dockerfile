# leakscope container image (see docs/DEPLOY.md): the static binary alone.
#
#   make image                      # or, by hand:
#   CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags="-s -w" \
#     -o bin/linux-amd64/leakscope ./cmd/leakscope
#   docker build -t leakscope .
#
# The image holds the binary the repository builds (static: CGO_ENABLED=0,
# no libc, no shell) and nothing else, so building it needs no base image
# from a registry. The BPF objects inside are the committed ones, which
# `make check-generate` (CI) verifies against the C sources.
#
# It runs as root inside the container because the capabilities it needs
# are granted to uid 0 by the runtime; give it no others (DEPLOY.md):
#   docker run --rm --pid=host --cap-drop ALL --cap-add SYS_ADMIN --cap-add SYS_PTRACE \
#     --cap-add SYS_RESOURCE --security-opt seccomp=unconfined --read-only \
#     -v /var/lib/leakscope:/var/lib/leakscope -v /run/leakscope:/run/leakscope \
#     -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
#     leakscope --container NAME --out /var/lib/leakscope
FROM scratch
# Set by BuildKit from --platform; the legacy builder takes the default.
ARG TARGETARCH=amd64
COPY bin/linux-${TARGETARCH}/leakscope /leakscope
EXPOSE 9464
ENTRYPOINT ["/leakscope"]
