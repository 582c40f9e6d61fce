// Package containermeta reads what container runtimes record about their
// containers on the node, without their APIs or the Kubernetes API
// server: a container's name and, for Kubernetes, its pod, namespace and
// pod UID. Sources, each a file the runtime writes:
//
//   - Docker: <data-root>/containers/<id>/config.v2.json, its Name and its
//     labels (cri-dockerd labels Kubernetes containers with
//     io.kubernetes.pod.name, io.kubernetes.pod.namespace,
//     io.kubernetes.container.name and io.kubernetes.pod.uid).
//   - containerd and CRI-O: the OCI bundle's config.json, whose
//     annotations carry the CRI names (containerd:
//     io.kubernetes.cri.sandbox-name, -namespace, -uid and
//     io.kubernetes.cri.container-name; CRI-O: the io.kubernetes.pod.*
//     and io.kubernetes.container.name keys, like cri-dockerd's labels).
//
// Files are read when asked, never cached: a restarted container keeps its
// ID and names, a removed one has no files left.
package containermeta
