// Package bpf holds leakscope's kernel side: the BPF programs that count
// sampled Go heap allocations, their frees and GC cycles per call stack, and
// the Go bindings bpf2go generates for them.
//
// The generated *_bpfel.go and *_bpfel.o files are committed so that a
// fresh clone builds without clang. Regenerate with `make generate`.
package bpf

//go:generate go tool bpf2go -cflags "-O2 -g -Wall -Werror" -cc clang -target amd64,arm64 -type live_key -type live_val -type stats_key -type stats_val -type target -type counts -type site_key -type alloc_count -type loss_reason -type event Leakscope leakscope.c
