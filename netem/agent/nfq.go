package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/mdlayher/netlink"
)

// Netfilter queue protocol constants, from linux/netfilter/nfnetlink.h and
// linux/netfilter/nfnetlink_queue.h. Multi-byte attribute payloads are big
// endian (network order); netlink and attribute headers are host order.
const (
	nfnlSubsysQueue = 3 // NFNL_SUBSYS_QUEUE
	nfnetlinkV0     = 0 // NFNETLINK_V0

	msgPacket  = 0 // NFQNL_MSG_PACKET: kernel → agent
	msgVerdict = 1 // NFQNL_MSG_VERDICT: agent → kernel
	msgConfig  = 2 // NFQNL_MSG_CONFIG

	attrPacketHdr  = 1  // NFQA_PACKET_HDR: struct nfqnl_msg_packet_hdr
	attrVerdictHdr = 2  // NFQA_VERDICT_HDR: struct nfqnl_msg_verdict_hdr
	attrTimestamp  = 4  // NFQA_TIMESTAMP: struct nfqnl_msg_packet_timestamp (sec, usec)
	attrPayload    = 10 // NFQA_PAYLOAD: the packet from its network header
	attrCapLen     = 13 // NFQA_CAP_LEN: original length when the payload is cut

	attrCfgCmd    = 1 // NFQA_CFG_CMD: struct nfqnl_msg_config_cmd
	attrCfgParams = 2 // NFQA_CFG_PARAMS: struct nfqnl_msg_config_params
	attrCfgMaxLen = 3 // NFQA_CFG_QUEUE_MAXLEN
	attrCfgMask   = 4 // NFQA_CFG_MASK
	attrCfgFlags  = 5 // NFQA_CFG_FLAGS

	cmdBind   = 1 // NFQNL_CFG_CMD_BIND
	cmdUnbind = 2 // NFQNL_CFG_CMD_UNBIND

	copyPacket = 2 // NFQNL_COPY_PACKET

	flagFailOpen = 1 << 0 // NFQA_CFG_F_FAIL_OPEN: accept, not drop, when the queue is full
	flagGSO      = 1 << 2 // NFQA_CFG_F_GSO: hand over GSO packets unsegmented

	verdictDrop   = 0 // NF_DROP
	verdictAccept = 1 // NF_ACCEPT
)

// copyRange is how much of each packet the kernel copies to the agent:
// enough for an IPv4 header with options or an IPv6 header, and the ports.
const copyRange = 128

func msgType(m uint8) netlink.HeaderType { return netlink.HeaderType(nfnlSubsysQueue<<8 | uint16(m)) }

// nfgenmsg is struct nfgenmsg: family, version, and the queue number
// (res_id, big endian).
func nfgenmsg(queue uint16) []byte {
	return []byte{0 /* AF_UNSPEC */, nfnetlinkV0, byte(queue >> 8), byte(queue)}
}

// appendAttr appends a netlink attribute (host-order header, payload
// padded to 4 bytes).
func appendAttr(b []byte, typ uint16, payload []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// bindMessage asks the kernel to deliver queue's packets to this socket.
func bindMessage(queue uint16) netlink.Message {
	return configMessage(queue, appendAttr(nil, attrCfgCmd, []byte{cmdBind, 0, 0, 0}))
}

// unbindMessage releases queue.
func unbindMessage(queue uint16) netlink.Message {
	return configMessage(queue, appendAttr(nil, attrCfgCmd, []byte{cmdUnbind, 0, 0, 0}))
}

// paramsMessage sets the copy mode and range, the kernel queue length, and
// the fail-open and GSO flags.
func paramsMessage(queue uint16, maxLen uint32) netlink.Message {
	params := append(be32(copyRange), copyPacket) // struct nfqnl_msg_config_params, packed: 5 bytes
	b := appendAttr(nil, attrCfgParams, params)
	b = appendAttr(b, attrCfgMaxLen, be32(maxLen))
	b = appendAttr(b, attrCfgMask, be32(flagFailOpen|flagGSO))
	b = appendAttr(b, attrCfgFlags, be32(flagFailOpen|flagGSO))
	return configMessage(queue, b)
}

func configMessage(queue uint16, attrs []byte) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{Type: msgType(msgConfig), Flags: netlink.Request | netlink.Acknowledge},
		Data:   append(nfgenmsg(queue), attrs...),
	}
}

// verdictMessage releases (accept) or drops packet id of queue. No ack is
// asked for: the kernel still reports a failed verdict as an error message.
func verdictMessage(queue uint16, id uint32, verdict uint32) netlink.Message {
	hdr := binary.BigEndian.AppendUint32(be32(verdict), id)
	return netlink.Message{
		Header: netlink.Header{Type: msgType(msgVerdict), Flags: netlink.Request},
		Data:   appendAttr(nfgenmsg(queue), attrVerdictHdr, hdr),
	}
}

// packet is what the agent needs of a queued packet.
type packet struct {
	Queue uint16
	ID    uint32
	// Len is the packet's full length (NFQA_CAP_LEN when the copy was cut).
	Len int
	// Header is the start of the packet from its network header, at most
	// copyRange bytes.
	Header []byte
	// Stamp is the kernel's receive time (wall clock, microseconds), zero
	// when the kernel did not timestamp the packet.
	Stamp time.Time
}

var errNotPacket = errors.New("not a queued packet")

// parsePacket decodes an NFQNL_MSG_PACKET message.
func parsePacket(m netlink.Message) (packet, error) {
	if m.Header.Type != msgType(msgPacket) {
		return packet{}, fmt.Errorf("parse queue message type %#x: %w", uint16(m.Header.Type), errNotPacket)
	}
	if len(m.Data) < 4 {
		return packet{}, fmt.Errorf("parse queue message: %d bytes, too short for nfgenmsg", len(m.Data))
	}
	p := packet{Queue: binary.BigEndian.Uint16(m.Data[2:4])}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return packet{}, fmt.Errorf("parse queue message: %w", err)
	}
	haveHdr, capLen := false, -1
	for ad.Next() {
		b := ad.Bytes()
		switch ad.Type() {
		case attrPacketHdr:
			if len(b) < 4 {
				return packet{}, fmt.Errorf("parse queue message: packet header of %d bytes", len(b))
			}
			p.ID, haveHdr = binary.BigEndian.Uint32(b[0:4]), true
		case attrPayload:
			p.Header = b
		case attrTimestamp:
			if len(b) >= 16 {
				p.Stamp = time.Unix(int64(binary.BigEndian.Uint64(b[0:8])), int64(binary.BigEndian.Uint64(b[8:16]))*1000)
			}
		case attrCapLen:
			if len(b) >= 4 {
				capLen = int(binary.BigEndian.Uint32(b))
			}
		}
	}
	if err := ad.Err(); err != nil {
		return packet{}, fmt.Errorf("parse queue message: %w", err)
	}
	if !haveHdr {
		return packet{}, fmt.Errorf("parse queue message: no NFQA_PACKET_HDR")
	}
	p.Len = len(p.Header)
	if capLen >= 0 {
		p.Len = capLen
	}
	return p, nil
}

// flowKey hashes a packet's addresses, protocol and ports (the 5-tuple) so
// that packets of one flow keep their order. Unknown headers hash to 0:
// one shared flow.
func flowKey(h []byte) uint64 {
	if len(h) == 0 {
		return 0
	}
	f := fnv.New64a()
	var proto byte
	var l4 []byte
	switch h[0] >> 4 {
	case 4:
		ihl := int(h[0]&0x0f) * 4
		if len(h) < 20 || ihl < 20 {
			return 0
		}
		proto = h[9]
		f.Write(h[12:20])
		fragOffset := binary.BigEndian.Uint16(h[6:8]) & 0x1fff
		if fragOffset == 0 && len(h) >= ihl+4 {
			l4 = h[ihl : ihl+4]
		}
	case 6:
		if len(h) < 40 {
			return 0
		}
		proto = h[6]
		f.Write(h[8:40])
		if len(h) >= 44 {
			l4 = h[40:44]
		}
	default:
		return 0
	}
	f.Write([]byte{proto})
	switch proto {
	case 6, 17, 132, 136: // TCP, UDP, SCTP, UDP-Lite
		f.Write(l4)
	}
	return f.Sum64()
}
