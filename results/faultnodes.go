package results

import "strings"

// FaultedNodes lists the hosts a fault's target names: "lab-2" or
// "lab-1,lab-2" for a fault on hosts, "lab-1<->lab-2,lab-3" for one on the
// links between two sides (chaos.SlowLinks), whose hosts are on both sides.
func FaultedNodes(target string) []string {
	var out []string
	for side := range strings.SplitSeq(target, "<->") {
		for n := range strings.SplitSeq(side, ",") {
			if n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}
