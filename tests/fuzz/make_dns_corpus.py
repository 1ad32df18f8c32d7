#!/usr/bin/env python3
"""Writes the seed corpus of dns_message_fuzz: DNS replies as a resolver sees them.

Each file is one fuzz input: a first byte choosing the question type (0 A, 1 AAAA, 2 SRV,
3 NAPTR; the question name is always b.example), then the reply. Run from the source tree:
  python3 tests/fuzz/make_dns_corpus.py tests/fuzz/corpus/dns_message_fuzz
The files are committed; rerun only to change them.
"""
import os
import socket
import struct
import sys

A, CNAME, SOA, AAAA, SRV, NAPTR = 1, 5, 6, 28, 33, 35
PICK = {A: 0, AAAA: 1, SRV: 2, NAPTR: 3}


def name(n):
    out = b""
    for label in n.split(".") if n else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def pointer(offset):
    return struct.pack(">H", 0xC000 | offset)


def cstr(s):
    return bytes([len(s)]) + s.encode()


def rr(owner, rtype, ttl, rdata, cls=1):
    o = owner if isinstance(owner, bytes) else name(owner)
    return o + struct.pack(">HHIH", rtype, cls, ttl, len(rdata)) + rdata


def soa(minimum):
    return name("ns.example") + name("admin.example") + struct.pack(">5I", 1, 2, 3, 4, minimum)


def srv(prio, weight, port, target):
    return struct.pack(">HHH", prio, weight, port) + name(target)


def naptr(order, pref, flags, service, regexp, repl):
    return struct.pack(">HH", order, pref) + cstr(flags) + cstr(service) + cstr(regexp) + name(repl)


def msg(qtype, answers=(), authority=(), rcode=0, flags=0x8180, qname="b.example"):
    head = struct.pack(">6H", 0x1234, flags | rcode, 1, len(answers), len(authority), 0)
    q = name(qname) + struct.pack(">HH", qtype, 1)
    return bytes([PICK[qtype]]) + head + q + b"".join(answers) + b"".join(authority)


# Offset of the question name inside the reply (after the 12-byte header): for pointers.
QNAME = 12

CASES = {
    "a_one": msg(A, [rr("b.example", A, 300, socket.inet_aton("192.0.2.10"))]),
    "a_two_compressed": msg(A, [rr(pointer(QNAME), A, 60, socket.inet_aton("192.0.2.11")),
                               rr(pointer(QNAME), A, 30, socket.inet_aton("192.0.2.12"))]),
    "a_ttl_over_max": msg(A, [rr("b.example", A, 0x80000000, socket.inet_aton("192.0.2.13"))]),
    "a_bad_rdlength": msg(A, [rr("b.example", A, 300, b"\xc0\x00\x02")]),
    "a_class_chaos": msg(A, [rr("b.example", A, 300, socket.inet_aton("192.0.2.14"), cls=3)]),
    "a_upper_case_owner": msg(A, [rr("B.EXAMPLE", A, 300, socket.inet_aton("192.0.2.15"))]),
    "aaaa_one": msg(AAAA, [rr("b.example", AAAA, 300, socket.inet_pton(socket.AF_INET6,
                                                                      "2001:db8::10"))]),
    "aaaa_v4mapped": msg(AAAA, [rr("b.example", AAAA, 300, socket.inet_pton(
        socket.AF_INET6, "::ffff:192.0.2.1"))]),
    "cname_then_a": msg(A, [rr("b.example", CNAME, 120, name("c.example")),
                            rr("c.example", A, 300, socket.inet_aton("192.0.2.20"))]),
    "cname_chain_compressed": msg(A, [
        rr(pointer(QNAME), CNAME, 120, b"\x01c" + pointer(QNAME + 2)),
        rr("c.example", CNAME, 100, name("d.example")),
        rr("d.example", A, 50, socket.inet_aton("192.0.2.21"))]),
    "cname_loop": msg(A, [rr("b.example", CNAME, 60, name("c.example")),
                          rr("c.example", CNAME, 60, name("b.example"))]),
    "cname_dangling": msg(A, [rr("b.example", CNAME, 60, name("nowhere.example"))]),
    "nodata_soa": msg(A, [], [rr("example", SOA, 3600, soa(300))]),
    "nxdomain_soa": msg(A, [], [rr("example", SOA, 3600, soa(60))], rcode=3),
    "servfail": msg(SRV, rcode=2),
    "refused": msg(NAPTR, rcode=5),
    "rcode_notimp": msg(A, rcode=4),
    "not_a_response": msg(A, [rr("b.example", A, 300, socket.inet_aton("192.0.2.1"))],
                          flags=0x0100),
    "truncated_record": msg(A, [rr("b.example", A, 300, socket.inet_aton("192.0.2.1"))])[:-3],
    "header_only": bytes([0]) + struct.pack(">6H", 1, 0x8180, 0, 0, 0, 0),
    "pointer_loop": bytes([0]) + struct.pack(">6H", 1, 0x8180, 1, 0, 0, 0) + pointer(QNAME),
    "srv_sip_tls": msg(SRV, [rr("b.example", SRV, 600, srv(10, 60, 5061, "sip1.example")),
                             rr("b.example", SRV, 600, srv(10, 40, 5061, "sip2.example")),
                             rr("b.example", SRV, 600, srv(20, 0, 5061, "backup.example"))]),
    "srv_root_target": msg(SRV, [rr("b.example", SRV, 600, srv(0, 0, 0, ""))]),
    "srv_compressed_target": msg(SRV, [rr(pointer(QNAME), SRV, 600,
                                          struct.pack(">HHH", 1, 1, 5060) + pointer(QNAME))]),
    "srv_short_rdata": msg(SRV, [rr("b.example", SRV, 600, struct.pack(">HH", 1, 1))]),
    "naptr_rfc3263": msg(NAPTR, [
        rr("b.example", NAPTR, 900, naptr(50, 50, "s", "SIPS+D2T", "", "_sips._tcp.b.example")),
        rr("b.example", NAPTR, 900, naptr(90, 50, "s", "SIP+D2T", "", "_sip._tcp.b.example")),
        rr("b.example", NAPTR, 900, naptr(100, 50, "s", "SIP+D2U", "", "_sip._udp.b.example"))]),
    "naptr_regexp": msg(NAPTR, [rr("b.example", NAPTR, 900,
                                   naptr(10, 10, "u", "E2U+sip", "!^.*$!sip:info@b.example!",
                                         ""))]),
    "naptr_short_string": msg(NAPTR, [rr("b.example", NAPTR, 900,
                                         struct.pack(">HH", 1, 1) + b"\x05s")]),
}

# Many records: past the caps of dns_message.h (addresses, SRV, NAPTR).
CASES["a_many"] = msg(A, [rr(pointer(QNAME), A, 60, socket.inet_aton(f"192.0.2.{i}"))
                          for i in range(40)])
CASES["srv_many"] = msg(SRV, [rr(pointer(QNAME), SRV, 60, srv(i, 1, 5061, f"s{i}.example"))
                              for i in range(36)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for fname, data in sorted(CASES.items()):
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
