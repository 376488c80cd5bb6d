#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
# A resolver that does not connect its UDP socket (unlike glibc): sendto()
# the server, recvfrom(), and say what came back and from where, so a test
# sees whether an answer's source is the server that was asked.
#
#   rawdns.py SERVER NAME [A|AAAA] [TIMEOUT_S]
# prints "rcode=N an=N addr=ADDR id_ok=0|1 from=ADDR:PORT ms=N",
# "timeout ms=N" or "errno=NAME".
import errno, random, socket, struct, sys, time

server, name = sys.argv[1], sys.argv[2]
qtype = {"A": 1, "AAAA": 28}[sys.argv[3] if len(sys.argv) > 3 else "A"]
tmo = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
fam = socket.AF_INET6 if ":" in server else socket.AF_INET
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(tmo)
t0 = time.monotonic()
try:
    s.sendto(q, (server, 53))
    r, frm = s.recvfrom(4096)
except socket.timeout:
    print("timeout ms=%d" % ((time.monotonic() - t0) * 1000))
    sys.exit(1)
except OSError as e:
    print("errno=%s" % errno.errorcode.get(e.errno, e.errno))
    sys.exit(1)
ms = (time.monotonic() - t0) * 1000
rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
addr = "-"
if an:
    rd = r[-16:] if qtype == 28 else r[-4:]
    addr = socket.inet_ntop(socket.AF_INET6 if qtype == 28 else socket.AF_INET, rd)
print("rcode=%d an=%d addr=%s id_ok=%d from=%s:%d ms=%d" %
      (flags & 15, an, addr, rid == qid, frm[0], frm[1], ms))
