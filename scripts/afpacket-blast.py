#!/usr/bin/env python3
"""Sends minimum-size Ethernet/IPv4/UDP frames out of an interface as fast as one Python
process can, for rough forwarding-rate measurements of the AF_PACKET back-end.

usage: afpacket-blast.py IFACE SECONDS [FLOWS]
Run it inside the sending host's network namespace (ip netns exec NS ...). Addresses stay in
198.18.0.0/15. Prints the number of frames sent and the rate.
"""
import socket
import struct
import sys
import time

iface, seconds = sys.argv[1], float(sys.argv[2])
flows = int(sys.argv[3]) if len(sys.argv) > 3 else 64

def frame(i):
    src = bytes([198, 18, 0, 1])
    dst = bytes([198, 19, i >> 8 & 0xFF, i & 0xFF])
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, src, dst)
    udp = struct.pack("!HHHH", 40000 + i, 9, 8, 0)
    eth = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
    return (eth + ip + udp).ljust(60, b"\0")

frames = [frame(i) for i in range(flows)]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((iface, 0))
send = s.send
sent = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for f in frames:
        try:
            send(f)
            sent += 1
        except OSError:
            pass
print(f"sent {sent} frames in {seconds:.1f} s: {sent / seconds / 1e3:.0f} kpps")
