package containermeta

import "strings"

// Labels cri-dockerd (and dockershim before it) puts on the Docker
// containers of Kubernetes pods; CRI-O writes the same keys as OCI
// annotations.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// dockerConfig is the part of Docker's config.v2.json read here.
type dockerConfig struct {
	ID     string `json:"ID"`
	Name   string `json:"Name"` // "/name"
	Config struct {
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
}

func readDocker(path string) (Meta, error) {
	var c dockerConfig
	if err := readJSON(path, &c); err != nil {
		return Meta{}, err
	}
	m := kubernetesNames(c.Config.Labels)
	m.Runtime = "docker"
	m.RuntimeName = clean(strings.TrimPrefix(c.Name, "/"))
	if m.Name == "" {
		m.Name = m.RuntimeName
	}
	return m, nil
}

// kubernetesNames reads the io.kubernetes.* keys (labels or annotations).
func kubernetesNames(kv map[string]string) Meta {
	return Meta{
		Name:      clean(kv[labelContainerName]),
		Pod:       clean(kv[labelPodName]),
		Namespace: clean(kv[labelPodNamespace]),
		PodUID:    clean(kv[labelPodUID]),
	}
}
