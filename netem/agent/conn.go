package agent

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rcvBuf is the netlink socket's receive buffer. A packet whose message
// does not fit is lost to the agent and stays in the kernel queue until
// unbind, so the buffer is large: 64 MiB holds a few hundred thousand
// messages of copyRange bytes.
const rcvBuf = 64 << 20

// nfqConn is one netlink socket bound to one queue. receive may run
// concurrently with verdicts.
type nfqConn struct {
	c   *netlink.Conn
	num uint16
}

// openQueue binds queue num with the given kernel queue length.
func openQueue(num uint16, maxLen uint32) (*nfqConn, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{MessageBufferSize: 8192})
	if err != nil {
		return nil, fmt.Errorf("open netfilter netlink socket: %w", err)
	}
	q := &nfqConn{c: c, num: num}
	if err := q.setRcvBuf(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Execute(bindMessage(num)); err != nil {
		c.Close()
		return nil, bindError(num, err)
	}
	if _, err := c.Execute(paramsMessage(num, maxLen)); err != nil {
		c.Send(unbindMessage(num))
		c.Close()
		return nil, fmt.Errorf("configure queue %d: %w", num, err)
	}
	return q, nil
}

func bindError(num uint16, err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("bind queue %d: %w: the agent needs CAP_NET_ADMIN in the node's network namespace", num, err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("bind queue %d: %w: another process holds it (an old replab-agent? stop it with replab-agent stop)", num, err)
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("bind queue %d: %w: the kernel has no netfilter queue support (CONFIG_NETFILTER_NETLINK_QUEUE)", num, err)
	}
	return fmt.Errorf("bind queue %d: %w", num, err)
}

// setRcvBuf raises the receive buffer past rmem_max (SO_RCVBUFFORCE, needs
// CAP_NET_ADMIN), falling back to what SO_RCVBUF allows.
func (q *nfqConn) setRcvBuf() error {
	rc, err := q.c.SyscallConn()
	if err != nil {
		return fmt.Errorf("set queue socket buffer: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf)
	}); err != nil {
		return fmt.Errorf("set queue socket buffer: %w", err)
	}
	if serr != nil {
		if err := q.c.SetReadBuffer(rcvBuf); err != nil {
			return fmt.Errorf("set queue socket buffer: %w", err)
		}
	}
	return nil
}

// receive blocks for the next messages and returns the queued packets
// among them. A netlink error message (a failed verdict) or a lost
// message (ENOBUFS) is returned as an error with the packets: the caller
// counts it and goes on.
func (q *nfqConn) receive() ([]packet, error) {
	msgs, err := q.c.Receive()
	var out []packet
	for _, m := range msgs {
		p, perr := parsePacket(m)
		if perr != nil {
			continue // acks and other replies
		}
		out = append(out, p)
	}
	return out, err
}

// verdict is a decision on one packet.
type verdict struct {
	id      uint32
	verdict uint32
}

// sendVerdicts sends the verdicts in batches, one write per batch.
func (q *nfqConn) sendVerdicts(vs []verdict) error {
	const batch = 64
	msgs := make([]netlink.Message, 0, min(len(vs), batch))
	for len(vs) > 0 {
		n := min(len(vs), batch)
		msgs = msgs[:0]
		for _, v := range vs[:n] {
			msgs = append(msgs, verdictMessage(q.num, v.id, v.verdict))
		}
		if _, err := q.c.SendMessages(msgs); err != nil {
			return fmt.Errorf("send verdicts on queue %d: %w", q.num, err)
		}
		vs = vs[n:]
	}
	return nil
}

// close unbinds the queue (the kernel drops whatever is still queued) and
// closes the socket, which unblocks receive.
func (q *nfqConn) close() error {
	_, err := q.c.Send(unbindMessage(q.num))
	return errors.Join(err, q.c.Close())
}

// isClosed reports whether err comes from a closed socket: the reader's
// signal to stop.
func isClosed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, unix.EBADF)
}
