module github.com/leakscope/leakscope

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0
	github.com/google/pprof v0.0.0-20261105003125-4bf881d7fb0b
	github.com/spf13/pflag v1.1.0
	golang.org/x/arch v0.33.0
	golang.org/x/sys v0.48.0
)

require golang.org/x/net v0.59.0 // indirect

tool github.com/cilium/ebpf/cmd/bpf2go
