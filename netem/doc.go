// Package netem owns network impairments: the Impairment and Plan types,
// pure planning of a plan into one node's rules (PlanKernel, PlanUserspace),
// the Shaper that applies them through a small Host interface, the backend
// Probe, and the userspace agent (package netem/agent, cmd/replab-agent).
//
// It knows nothing about topologies, labs or Docker: it must not import
// topologies, harness, chaos, suites, results or any Docker package. Its
// unit types (Percent, BitRate) come from package units, which topologies
// shares. The harness turns a topology's RTT matrix into one Plan per node
// (each node holds RTT/2 for the peers of every other region) and
// satisfies Host with docker exec and docker cp.
//
// # Lifecycle
//
//	sh := netem.NewShaper(backend, host, netem.WithAgent(agentPath))
//	sh.Apply(ctx, plan)     // replaces the node's previous plan; same plan twice: no-op
//	sh.Apply(ctx, degraded) // a chaos overlay; impairment-only changes happen in place
//	sh.Apply(ctx, plan)     // back to the baseline plan, not to "nothing"
//	sh.Alive(ctx)           // still in force? ErrImpairmentLost if not
//	sh.Reset(ctx)           // everything replab added is gone; not-found is success
//
// # Backends
//
// Kernel: tc on the node's egress device (WithDevice, default eth0). An
// htb root with, per impairment group, one class and one netem child
// (limit KernelNetemLimit), and a u32 destination filter per peer prefix,
// most specific first; unmatched traffic bypasses the tree:
//
//	root 1: htb ─┬─ filter dst 10.1.0.0/24 ─▶ class 1:1 ─▶ netem delay 40ms
//	             ├─ filter dst 10.2.0.0/24 ─▶ class 1:2 ─▶ netem delay 100ms 5ms
//	             └─ filter dst 10.9.0.5/32 ─▶ class 1:3 ─▶ netem loss 100% (blackholes)
//
// Userspace, for kernels without sch_netem (CONFIG_NET_SCH_NETEM unset:
// WSL2, minikube, some CI sandboxes): iptables rules in a dedicated chain
// (Chain, mangle table, jumped to from INPUT) send packets from each
// group's peers to an NFQUEUE; replab-agent, running in the node, holds
// each for its delay and gives the verdict. A blackhole is a plain DROP rule, no queue:
//
//	peer ─▶ eth0 ─▶ mangle INPUT ─▶ REPLAB-NETEM ─┬─ -s cut   -j DROP
//	                                               └─ -s peers ! -p icmp -j NFQUEUE --queue-num 1000+g --queue-bypass
//	                                                        │
//	                        replab-agent: hold delay±jitter, drop loss, pace rate
//	                                                        │ verdict ACCEPT
//	                                                        ▼
//	                                       filter INPUT (chaos, firewall) ─▶ socket
//
//	socket ─▶ mangle OUTPUT ─▶ REPLAB-NETEM-OUT ── -d peers -p icmp -j NFQUEUE ... ─▶ eth0
//
// Why ingress: holding a TCP sender's packets in its own OUTPUT path
// starves it, since TCP Small Queues counts packets held in NFQUEUE
// against the socket (kernel netem orphans them, NFQUEUE does not), so a
// bulk stream crawls at a small fraction of the goodput it gets when the
// receiver holds them. So the userspace backend delays packets where they
// arrive and the kernel backend where they leave; Plan defines the
// semantics so that RTT/2 on each side gives RTT with either
// (Backend.HoldsIngress for asymmetric links). ICMP, which TSQ does not
// touch, is held where it leaves: see below.
//
// Auto: Probe adds and removes a netem qdisc on the node's lo; "Specified
// qdisc kind is unknown" (or no tc) means Userspace, with the reason to
// show in status and results.
//
// # Fail-safe
//
// The queues use --queue-bypass and the agent binds them fail-open: if
// the agent dies, traffic flows unimpaired, never blackholed. That is
// still a lie about the network, so the harness must call Shaper.Alive
// (it checks the agent's heartbeat and config hash) and report the
// impairment as lost (ErrImpairmentLost) rather than carry on.
//
// # Measuring the RTT through the userspace backend
//
// The kernel stamps a packet's receive time (SO_TIMESTAMP) when it reaches
// the device, before INPUT. A packet held on arrival therefore carries a
// stamp from before its delay, and a tool that reports the stamp sees the
// wire arrival. ping does exactly that, which is why the userspace backend
// holds ICMP where it leaves instead: ping, with or without -U, shows the
// full RTT. tcpdump inside a node shows TCP and UDP packets at their wire
// arrival, before their hold. Applications and TCP itself (its RTT
// estimate is taken when it processes a packet) see the full delay.
//
// # The agent binary
//
// BuildAgent builds cmd/replab-agent with CGO_ENABLED=0 from the module
// source (found from the working directory or this package's source),
// cached by content hash; $REPLAB_AGENT=/path/to/replab-agent overrides it
// for installs without the source. The Shaper copies it into the node
// (DefaultAgentDir, removed by Reset) and starts it detached.
//
// # What a node needs
//
// CAP_NET_ADMIN (never --privileged); the kernel backend: tc (iproute2)
// and sch_netem, sch_htb, cls_u32; the userspace backend: iptables (legacy
// or nft; ip6tables for IPv6 peers) with the NFQUEUE target and
// nfnetlink_queue, and a writable, executable DefaultAgentDir. Errors say
// which of these is missing and the fix.
//
// # Tests and benchmark
//
// Unit and golden tests run anywhere (go test ./netem -run Golden -update
// rewrites testdata after review). Integration tests and the
// benchmark need root and ip, tc, iptables: they build network namespaces
// named rlt-* joined by a veth pair and remove them afterwards.
//
//	go test -run '^$' -bench . ./netem/
//
// reports, per backend, the RTT error at 10, 50, 100 and 200 ms
// (rtt_err_%), the goodput of a TCP stream over a 50 ms link (MB/s), and
// the agent's CPU (agent_cpu_%); kernel figures are skipped, with the
// reason, where sch_netem is missing.
package netem
