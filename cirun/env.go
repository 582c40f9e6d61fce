package cirun

import "strings"

// WithGODEBUG returns env with name=value added to GODEBUG, keeping the
// user's other settings. replace says whether a value the user set for
// name wins (false) or is overridden (true). The Go runtime reads
// memprofilerate from GODEBUG before the first allocation, so sampling
// is on from the start, with no write into the process afterwards.
func WithGODEBUG(env []string, name, value string, replace bool) []string {
	out := make([]string, 0, len(env)+1)
	var kept []string
	found := false
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		for _, s := range strings.Split(v, ",") {
			if s == "" {
				continue
			}
			if k, _, _ := strings.Cut(s, "="); k == name {
				if replace {
					continue
				}
				found = true
			}
			kept = append(kept, s)
		}
	}
	if !found {
		kept = append(kept, name+"="+value)
	}
	return append(out, "GODEBUG="+strings.Join(kept, ","))
}
