package harness

import (
	"context"
	"fmt"
)

// ContainerStatus is what chaos baseline checks need to know about a
// container: whether it runs, whether it is frozen, its CPU quota.
type ContainerStatus struct {
	Running bool
	Paused  bool
	// CPUs is the CPU quota in cores (quota / period, or NanoCPUs); 0 is
	// unlimited.
	CPUs float64
}

// ContainerStatus inspects one container of the lab by member name.
func (l *Lab) ContainerStatus(ctx context.Context, name string) (ContainerStatus, error) {
	id, err := l.containerID(name)
	if err != nil {
		return ContainerStatus{}, err
	}
	insp, err := l.cli.ContainerInspect(ctx, id)
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("inspect %s: %w", name, err)
	}
	var st ContainerStatus
	if insp.State != nil {
		st.Running = insp.State.Running
		st.Paused = insp.State.Paused
	}
	if hc := insp.HostConfig; hc != nil {
		switch {
		case hc.CPUQuota > 0 && hc.CPUPeriod > 0:
			st.CPUs = float64(hc.CPUQuota) / float64(hc.CPUPeriod)
		case hc.CPUQuota > 0:
			st.CPUs = float64(hc.CPUQuota) / 100000
		case hc.NanoCPUs > 0:
			st.CPUs = float64(hc.NanoCPUs) / 1e9
		}
	}
	return st, nil
}
