// Package agent is the userspace netem backend's packet holder, run in a
// node's network namespace as cmd/replab-agent (a static binary,
// CGO_ENABLED=0).
//
// It binds NFQUEUE numbers over raw netlink (nfnetlink subsystem
// NFNL_SUBSYS_QUEUE, built on github.com/mdlayher/netlink): one socket and
// two goroutines per queue, never one per packet.
//
//	kernel queue N ──NFQNL_MSG_PACKET──▶ reader ──chan──▶ scheduler
//	  (copy 128 B: id, header)                             │ admit: loss? limit?
//	                                                       │ release = max(
//	                                                       │   rate-paced departure
//	                                                       │   + delay ± jitter,
//	                                                       │   last release of flow)
//	                                                       ▼
//	                                                 min-heap + one timer
//	kernel queue N ◀──NFQNL_MSG_VERDICT (ACCEPT/DROP)── due packets, batched
//
// The queue is bound with NFQA_CFG_F_FAIL_OPEN and NFQA_CFG_F_GSO, a long
// kernel queue and a 64 MiB socket buffer; the firewall rules use
// --queue-bypass, so when the agent is gone traffic flows unimpaired rather
// than not at all. Jitter and loss come from a PCG source seeded with the
// config's seed and the queue number.
//
// The agent writes a heartbeat (netem.AgentStatus as JSON) every
// HeartbeatInterval, reloads its config on SIGHUP, and on SIGTERM releases
// every held packet, unbinds and removes the heartbeat. Check, WaitConfig,
// Reload and Stop are the client side, used by the binary's subcommands.
//
// It imports netem for the config and status types and nothing of
// topologies, harness or Docker.
package agent
