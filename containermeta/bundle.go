package containermeta

import (
	"os"
	"path/filepath"
)

// Annotations containerd's CRI plugin writes into a container's OCI spec.
const (
	annoCRIContainerType = "io.kubernetes.cri.container-type" // "container" or "sandbox"
	annoCRIContainerName = "io.kubernetes.cri.container-name"
	annoCRISandboxName   = "io.kubernetes.cri.sandbox-name"
	annoCRISandboxNS     = "io.kubernetes.cri.sandbox-namespace"
	annoCRISandboxUID    = "io.kubernetes.cri.sandbox-uid"
	// CRI-O's own key for the container type; its names use the
	// io.kubernetes.pod.* keys of docker.go.
	annoCRIOContainerType = "io.kubernetes.cri-o.ContainerType"
)

// ociConfig is the part of an OCI runtime spec read here.
type ociConfig struct {
	Annotations map[string]string `json:"annotations"`
}

func readBundle(path string) (Meta, error) {
	var c ociConfig
	if err := readJSON(path, &c); err != nil {
		return Meta{}, err
	}
	a := c.Annotations
	if _, ok := a[annoCRISandboxName]; ok {
		m := Meta{
			Name:      clean(a[annoCRIContainerName]),
			Pod:       clean(a[annoCRISandboxName]),
			Namespace: clean(a[annoCRISandboxNS]),
			PodUID:    clean(a[annoCRISandboxUID]),
			Runtime:   "containerd",
		}
		if a[annoCRIContainerType] == "sandbox" {
			m.Name = "POD" // the pause container, as kubelet and crictl call it
		}
		return m, nil
	}
	m := kubernetesNames(a)
	if m != (Meta{}) {
		m.Runtime = "cri-o"
		if a[annoCRIOContainerType] == "sandbox" && m.Name == "" {
			m.Name = "POD"
		}
	}
	return m, nil
}

// bundlePaths are where a bundle dir may hold the config of id.
func bundlePaths(dir, id string) []string {
	paths := []string{
		filepath.Join(dir, id, "config.json"),
		filepath.Join(dir, id, "userdata", "config.json"),
	}
	if nss, err := os.ReadDir(dir); err == nil {
		for _, ns := range nss {
			if ns.IsDir() && !isFullID(ns.Name()) {
				paths = append(paths, filepath.Join(dir, ns.Name(), id, "config.json"))
			}
		}
	}
	return paths
}

type bundleFile struct{ id, path string }

// allBundles lists every bundle config under dir, in the three layouts.
func allBundles(dir string) []bundleFile {
	var out []bundleFile
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if isFullID(e.Name()) {
			for _, p := range []string{filepath.Join(dir, e.Name(), "config.json"), filepath.Join(dir, e.Name(), "userdata", "config.json")} {
				if _, err := os.Stat(p); err == nil {
					out = append(out, bundleFile{e.Name(), p})
					break
				}
			}
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, s := range sub {
			p := filepath.Join(dir, e.Name(), s.Name(), "config.json")
			if isFullID(s.Name()) {
				if _, err := os.Stat(p); err == nil {
					out = append(out, bundleFile{s.Name(), p})
				}
			}
		}
	}
	return out
}
