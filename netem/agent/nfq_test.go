package agent

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
)

// wire renders m as the kernel sees it, with a fixed sequence and pid.
func wire(t *testing.T, m netlink.Message) []byte {
	t.Helper()
	m.Header.Sequence, m.Header.PID = 1, 0
	m.Header.Length = uint32(16 + len(m.Data))
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected layouts are written out by hand from the kernel headers
// (little-endian host: netlink and attribute headers in host order,
// attribute payloads big endian).
func TestMessageLayouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  netlink.Message
		want string
	}{{
		name: "bind queue 1000",
		msg:  bindMessage(1000),
		want: `1c000000 0203 0500 01000000 00000000` + // nlmsghdr: len 28, NFNL_SUBSYS_QUEUE<<8|NFQNL_MSG_CONFIG, REQUEST|ACK
			`00 00 03e8` + // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 1000
			`0800 0100 01 00 0000`, // NFQA_CFG_CMD: BIND, pad, pf 0
	}, {
		name: "unbind queue 7",
		msg:  unbindMessage(7),
		want: `1c000000 0203 0500 01000000 00000000 00000007 0800 0100 02000000`,
	}, {
		name: "params queue 1000",
		msg:  paramsMessage(1000, 100000),
		want: `38000000 0203 0500 01000000 00000000 000003e8` +
			`0900 0200 00000080 02 000000` + // NFQA_CFG_PARAMS: copy_range 128, NFQNL_COPY_PACKET, padding
			`0800 0300 000186a0` + // NFQA_CFG_QUEUE_MAXLEN 100000
			`0800 0400 00000005` + // NFQA_CFG_MASK FAIL_OPEN|GSO
			`0800 0500 00000005`, // NFQA_CFG_FLAGS FAIL_OPEN|GSO
	}, {
		name: "accept packet 0x01020304 on queue 1000",
		msg:  verdictMessage(1000, 0x01020304, verdictAccept),
		want: `20000000 0103 0100 01000000 00000000 000003e8` + // NFQNL_MSG_VERDICT, REQUEST only
			`0c00 0200 00000001 01020304`, // NFQA_VERDICT_HDR: NF_ACCEPT, id
	}, {
		name: "drop packet 9 on queue 1",
		msg:  verdictMessage(1, 9, verdictDrop),
		want: `20000000 0103 0100 01000000 00000000 00000001 0c00 0200 00000000 00000009`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := wire(t, tc.msg), unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Errorf("wire bytes\n got %x\nwant %x", got, want)
			}
		})
	}
}

// ipv4TCP is a 20-byte IPv4 header and the first 20 bytes of a TCP header:
// 10.0.0.1:40000 → 10.0.0.2:5432.
const ipv4TCP = `4500 05dc 0000 4000 4006 0000 0a000001 0a000002` +
	`9c40 1538 00000000 00000000 5010 ffff 0000 0000`

func TestParsePacket(t *testing.T) {
	raw := unhex(t, `40000000 0003 0000 00000000 00000000`+ // len 64, NFQNL_MSG_PACKET, no flags
		`02 00 03e8`+ // nfgenmsg: AF_INET, v0, queue 1000
		`0b00 0100 0000002a 0800 01 00`+ // NFQA_PACKET_HDR: id 42, ETH_P_IP, NF_INET_LOCAL_IN, pad
		`0800 0500 00000002`+ // NFQA_IFINDEX_INDEV 2
		`0800 0d00 0000fde8`+ // NFQA_CAP_LEN 65000 (a GSO packet)
		`1000 0a00 4500fde8 00004000 40060000 0a000001`) // NFQA_PAYLOAD, first 12 bytes
	var m netlink.Message
	if err := m.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	p, err := parsePacket(m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Queue != 1000 || p.ID != 42 || p.Len != 65000 || len(p.Header) != 12 || p.Header[0] != 0x45 {
		t.Errorf("parsed %+v, want queue 1000, id 42, len 65000, a 12-byte header starting 0x45", p)
	}

	// Without NFQA_CAP_LEN the length is the payload's.
	m.Data = unhex(t, `02 00 0001 0b00 0100 00000007 0800 01 00`+`2c00 0a00 `+ipv4TCP)
	if p, err = parsePacket(m); err != nil || p.ID != 7 || p.Len != 40 {
		t.Errorf("parsePacket = %+v, %v; want id 7, len 40", p, err)
	}

	// A message without a packet header, or of another type, is refused.
	m.Data = unhex(t, `02 00 0001 0800 0500 00000002`)
	if _, err := parsePacket(m); err == nil {
		t.Error("parsePacket accepted a message without NFQA_PACKET_HDR")
	}
	m.Header.Type = msgType(msgConfig)
	if _, err := parsePacket(m); err == nil {
		t.Error("parsePacket accepted a config message")
	}
}

// TestVerdictRoundTrip decodes an encoded verdict with the generic
// attribute decoder, checking that the encoder and a reader agree.
func TestVerdictRoundTrip(t *testing.T) {
	m := verdictMessage(65535, 0xdeadbeef, verdictDrop)
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		t.Fatal(err)
	}
	if !ad.Next() || ad.Type() != attrVerdictHdr {
		t.Fatalf("first attribute type %d, want NFQA_VERDICT_HDR", ad.Type())
	}
	if got := hex.EncodeToString(ad.Bytes()); got != "00000000deadbeef" {
		t.Errorf("verdict header %s, want NF_DROP then id", got)
	}
	if got := hex.EncodeToString(m.Data[:4]); got != "0000ffff" {
		t.Errorf("nfgenmsg %s, want queue 65535 big endian", got)
	}
}

func TestFlowKey(t *testing.T) {
	h := unhex(t, ipv4TCP)
	k := flowKey(h)
	if k == 0 {
		t.Fatal("flowKey of a TCP header is 0")
	}
	other := bytes.Clone(h)
	other[21] ^= 1 // source port
	if flowKey(other) == k {
		t.Error("flows differing in source port share a key")
	}
	same := bytes.Clone(h)
	same[2], same[3] = 0, 40 // total length: not part of the flow
	if flowKey(same) != k {
		t.Error("packets of one flow got different keys")
	}
	v6 := make([]byte, 44)
	v6[0], v6[6] = 0x60, 17 // IPv6, UDP
	v6[40], v6[41] = 0x12, 0x34
	k6 := flowKey(v6)
	v6[41] = 0x35
	if k6 == 0 || flowKey(v6) == k6 {
		t.Error("IPv6 UDP ports are not part of the flow key")
	}
	if flowKey(nil) != 0 || flowKey([]byte{0x45, 0}) != 0 {
		t.Error("short headers must hash to the shared flow 0")
	}
}
