// Package cgroup reads which control group a process is in and which
// container, if any, that group stands for. It parses /proc/PID/cgroup on
// cgroup v1, v2 and hybrid hosts, finds cgroup mounts in mountinfo, and
// recognises the cgroup names of Docker, containerd (CRI and nerdctl),
// CRI-O, Podman and Kubernetes' cgroupfs layout.
//
// Everything parsed here comes from the kernel, but a process in a
// container names its own cgroups' leaves only through its runtime: the
// parsers bound their input and never panic (see FuzzParseCgroup).
package cgroup
