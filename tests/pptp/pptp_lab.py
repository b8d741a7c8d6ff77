#!/usr/bin/env python3
"""A small PPTP control exchange and GRE data stream for tests/e2e_pptp.rs (RFC 2637), with
the Python standard library only: no PPP exists in the test kernel, so the PPP frames inside
the GRE are dummies (an LCP Echo-Request shape) and only their count matters.

  pptp_lab.py pac               the PAC (server): answers on TCP 1723 and sends GRE
  pptp_lab.py pns PAC_ADDRESS   the PNS (client): drives three calls, prints JSON counts

The PAC reacts to the PNS's messages:
  Start-Control-Connection-Request -> Reply (connected)
  Outgoing-Call-Request(X)        -> Outgoing-Call-Reply(0x2000 + n, X, connected), then GRE
                                     to call ID X
  Echo-Request                    -> Echo-Reply, then Incoming-Call-Request(0x2100 + n)
  Incoming-Call-Reply(Y, ...)     -> Incoming-Call-Connected(Y), then GRE to call ID Y
  Call-Clear-Request(X)           -> Call-Disconnect-Notify, then GRE to call ID X all the
                                     same (a PAC that keeps sending: the firewall must stop it)
  Stop-Control-Connection-Request -> Reply, and the connection ends

The PNS runs an outgoing call (GRE both ways), an incoming call (GRE both ways), and an
outgoing call cleared before any GRE, then counts the GRE that reached it per call ID.
"""
import json
import socket
import struct
import sys
import threading
import time

COOKIE = 0x1A2B3C4D
LENGTHS = {1: 156, 2: 156, 3: 16, 4: 16, 5: 16, 6: 20, 7: 168, 8: 32, 9: 220, 10: 24,
           11: 28, 12: 16, 13: 148, 14: 40, 15: 24}
GRE_PACKETS = 20


def message(ty, words=()):
    """A control message of type `ty` at its RFC 2637 length, 16-bit fields from byte 12."""
    n = LENGTHS[ty]
    m = bytearray(n)
    struct.pack_into(">HHIHH", m, 0, n, 1, COOKIE, ty, 0)
    for i, w in enumerate(words):
        struct.pack_into(">H", m, 12 + 2 * i, w)
    return bytes(m)


def read_message(conn):
    """One whole control message: (type, its bytes), or None at the end of the stream."""
    head = b""
    while len(head) < 2:
        b = conn.recv(2 - len(head))
        if not b:
            return None
        head += b
    n = struct.unpack(">H", head)[0]
    body = head
    while len(body) < n:
        b = conn.recv(n - len(body))
        if not b:
            return None
        body += b
    return struct.unpack(">H", body[8:10])[0], body


def word(m, at):
    return struct.unpack(">H", m[at:at + 2])[0]


def gre_packet(call_id, seq):
    """Enhanced GRE (RFC 2637 §4.1): K and S set, version 1, PPP, to `call_id`."""
    ppp = b"\xff\x03\xc0\x21\x09\x01\x00\x08\x00\x00\x00\x00"
    return struct.pack(">BBHHHI", 0x30, 0x01, 0x880B, len(ppp), call_id, seq) + ppp


class Gre:
    """A raw socket of IP protocol 47: sends GRE to the peer, counts what arrives per call
    ID."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
        self.sock.settimeout(0.2)
        self.counts = {}
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self.receive, daemon=True).start()

    def receive(self):
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            ihl = (data[0] & 0x0F) * 4
            g = data[ihl:]
            if len(g) >= 8 and g[1] & 0x07 == 1 and word(g, 2) == 0x880B:
                with self.lock:
                    cid = word(g, 6)
                    self.counts[cid] = self.counts.get(cid, 0) + 1

    def count(self, call_id):
        with self.lock:
            return self.counts.get(call_id, 0)

    def send(self, peer, call_id, n=GRE_PACKETS):
        for seq in range(n):
            self.sock.sendto(gre_packet(call_id, seq), (peer, 0))
            time.sleep(0.01)


def pac():
    gre = Gre()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 1723))
    srv.listen(4)
    calls = 0
    while True:
        conn, (peer, _) = srv.accept()
        pac_ids = {}
        while True:
            got = read_message(conn)
            if got is None:
                break
            ty, m = got
            if ty == 1:
                conn.sendall(message(2, [0x0100, 0x0100]))
            elif ty == 7:
                calls += 1
                pns_id, pac_id = word(m, 12), 0x2000 + calls
                pac_ids[pns_id] = pac_id
                conn.sendall(message(8, [pac_id, pns_id, 0x0100]))
                threading.Timer(0.3, gre.send, (peer, pns_id)).start()
            elif ty == 5:
                conn.sendall(message(6, [0, 0, 0x0100]))
                calls += 1
                conn.sendall(message(9, [0x2100 + calls, calls]))
            elif ty == 10:
                pns_id, peer_id, result = word(m, 12), word(m, 14), m[16]
                if result == 1:
                    pac_ids[pns_id] = peer_id
                    conn.sendall(message(11, [pns_id]))
                    threading.Timer(0.3, gre.send, (peer, pns_id)).start()
            elif ty == 12:
                pns_id = word(m, 12)
                conn.sendall(message(13, [pac_ids.get(pns_id, 0), 0x0100]))
                threading.Timer(0.3, gre.send, (peer, pns_id)).start()
            elif ty == 3:
                conn.sendall(message(4, [0x0100]))
                break
        conn.close()


def pns(pac_address):
    gre = Gre()
    conn = socket.create_connection((pac_address, 1723), timeout=5)

    def expect(ty):
        got = read_message(conn)
        if got is None or got[0] != ty:
            raise SystemExit(f"expected message type {ty}, got {got and got[0]}")
        return got[1]

    def wait_for(call_id, want, seconds=3.0):
        deadline = time.time() + seconds
        while time.time() < deadline and gre.count(call_id) < want:
            time.sleep(0.05)
        return gre.count(call_id)

    conn.sendall(message(1, [0x0100, 0]))
    expect(2)
    # 1. Outgoing call: PNS call ID 0x0101.
    conn.sendall(message(7, [0x0101]))
    reply = expect(8)
    out_pac = word(reply, 12)
    gre.send(pac_address, out_pac)
    outgoing = wait_for(0x0101, GRE_PACKETS)
    # 2. Incoming call: the PAC's Incoming-Call-Request follows its Echo-Reply.
    conn.sendall(message(5))
    expect(6)
    request = expect(9)
    in_pac = word(request, 12)
    conn.sendall(message(10, [0x0102, in_pac, 0x0100]))
    expect(11)
    gre.send(pac_address, in_pac)
    incoming = wait_for(0x0102, GRE_PACKETS)
    # 3. An outgoing call cleared before any GRE: the PAC's GRE to it must not pass.
    conn.sendall(message(7, [0x0103]))
    expect(8)
    conn.sendall(message(12, [0x0103]))
    expect(13)
    cleared = wait_for(0x0103, 1, seconds=2.0)
    conn.sendall(message(3))
    expect(4)
    conn.close()
    gre.running = False
    print(json.dumps({"outgoing": outgoing, "incoming": incoming, "cleared": cleared,
                      "sent_per_call": GRE_PACKETS}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["pac"]:
        pac()
    elif sys.argv[1:2] == ["pns"] and len(sys.argv) == 3:
        pns(sys.argv[2])
    else:
        raise SystemExit(__doc__)
