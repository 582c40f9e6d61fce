// Package reliability holds leakscope's fault tests: attach/detach churn
// against a live target (kernel objects, file descriptors and memory must
// not grow), a kill -9 of leakscope mid-watch, the exact bytes leakscope
// writes into a target, a target that execs another program, a hostile
// symlink in a target's mount namespace, and tiny map capacities. They
// are privileged (testutil.RequireBPF); docs/RELIABILITY.md records their
// figures and the commands that produce them.
package reliability
