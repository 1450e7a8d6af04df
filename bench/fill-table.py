#!/usr/bin/env python3
"""Fills the conntrack table of the CURRENT network namespace with N entries over ctnetlink.

Run it inside a lab namespace (ip netns exec NS python3 fill-table.py N). Entries are created
directly (IPCTNL_MSG_CT_NEW, as `conntrack -I` does, but batched: one process instead of N), so no
packet is sent anywhere. The mix is deterministic, shaped like a busy node:

  40% tcp TIME_WAIT   [ASSURED], to 10.96.0.x:443
  20% tcp ESTABLISHED [ASSURED], to 10.96.1.x:8080
  30% udp             [UNREPLIED], to 10.96.2.x, port 53 for two thirds, else 1024..31023
  10% tcp SYN_SENT    [UNREPLIED], to 10.96.3.x:80
  sources: 10.1.0.1 35%, 10.1.0.2 15%, the rest spread over 5000 addresses 10.2.x.y

Tuples are unique by construction: sport = 1024 + i % 60000 and the last destination octet is
1 + i // 60000, so two entries never share (src, sport, dst). Timeouts are 1800 s so the table
outlives the benchmark. Bounded: exactly N messages, in batches; exits non-zero when fewer than N
entries were created.
"""
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW = 0
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLA_F_NESTED = 0x8000
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_PROTOINFO, CTA_TIMEOUT = 1, 2, 3, 4, 7
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_PROTOINFO_TCP, CTA_PROTOINFO_TCP_STATE = 1, 1
IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED = 1 << 1, 1 << 2, 1 << 3
TCP_SYN_SENT, TCP_ESTABLISHED, TCP_TIME_WAIT = 1, 3, 7
TIMEOUT = 1800


def attr(kind, payload):
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def nested(kind, *children):
    return attr(kind | NLA_F_NESTED, b"".join(children))


def ip(a, b, c, d):
    return bytes((a, b, c, d))


def tuple_attr(kind, proto, src, dst, sport, dport):
    return nested(kind,
                  nested(CTA_TUPLE_IP, attr(CTA_IP_V4_SRC, src), attr(CTA_IP_V4_DST, dst)),
                  nested(CTA_TUPLE_PROTO, attr(CTA_PROTO_NUM, bytes((proto,))),
                         attr(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)),
                         attr(CTA_PROTO_DST_PORT, struct.pack("!H", dport))))


def entry(i):
    kind = i % 20
    x = (i * 7919) % 100
    if x < 35:
        src = ip(10, 1, 0, 1)
    elif x < 50:
        src = ip(10, 1, 0, 2)
    else:
        k = i % 5000
        src = ip(10, 2, k >> 8, (k & 255))
    sport = 1024 + i % 60000
    last = 1 + i // 60000
    status = 0
    state = None
    if kind < 8:
        proto, dst, dport, state, status = 6, ip(10, 96, 0, last), 443, TCP_TIME_WAIT, IPS_SEEN_REPLY | IPS_ASSURED
    elif kind < 12:
        proto, dst, dport, state, status = 6, ip(10, 96, 1, last), 8080, TCP_ESTABLISHED, IPS_SEEN_REPLY | IPS_ASSURED
    elif kind < 18:
        proto, dst = 17, ip(10, 96, 2, last)
        dport = 53 if i % 3 else 1024 + i % 30000
    else:
        proto, dst, dport, state = 6, ip(10, 96, 3, last), 80, TCP_SYN_SENT
    # Creating needs both directions (the kernel answers EINVAL otherwise): the reply is the mirror.
    attrs = [
        tuple_attr(CTA_TUPLE_ORIG, proto, src, dst, sport, dport),
        tuple_attr(CTA_TUPLE_REPLY, proto, dst, src, dport, sport),
        attr(CTA_TIMEOUT, struct.pack("!I", TIMEOUT)),
    ]
    if status:
        # The kernel marks a new entry CONFIRMED before applying the status and refuses (EBUSY)
        # a status that would clear that bit: send it along, as conntrack -I does.
        attrs.append(attr(CTA_STATUS, struct.pack("!I", status | IPS_CONFIRMED)))
    if state is not None:
        attrs.append(nested(CTA_PROTOINFO, nested(CTA_PROTOINFO_TCP, attr(CTA_PROTOINFO_TCP_STATE, bytes((state,))))))
    return b"".join(attrs)


def message(seq, payload, flags):
    body = struct.pack("=BBH", socket.AF_INET, 0, 0) + payload
    msg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW
    return struct.pack("=IHHII", 16 + len(body), msg_type, flags, seq, 0) + body


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
    if n < 1 or n > 5_000_000:
        sys.exit("N must be 1..5000000")
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((0, 0))
    errors = {}
    batch = 200
    for start in range(0, n, batch):
        end = min(n, start + batch)
        # Ask for an ack on the last message only: the kernel handles a batch in order, so its
        # ack (or any error before it) arriving means the whole batch was processed.
        chunk = b"".join(message(i + 1, entry(i), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
                                 | (NLM_F_ACK if i == end - 1 else 0)) for i in range(start, end))
        s.sendall(chunk)
        while True:
            data = s.recv(65536)
            done = False
            off = 0
            while off < len(data):
                length, _, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                err = struct.unpack_from("=i", data, off + 16)[0]
                if err != 0:
                    errors[-err] = errors.get(-err, 0) + 1
                if seq == end:
                    done = True
                off += (length + 3) & ~3
            if done:
                break
    failed = sum(v for k, v in errors.items())
    print(f"created {n - failed} of {n} entries" + (f"; errno counts {errors}" if errors else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
