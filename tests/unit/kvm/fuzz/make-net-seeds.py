#!/usr/bin/env python3
"""Writes the virtio-net fuzz seeds (see net_target.c for the input format):
ok-* are chains a correct driver sends, bad-* are hostile ones."""
import os
import struct
import sys

BASE = 0x1000
QS = 4
DESC = BASE
HDR, FRAME, ACK, DATA, TABLE = 0x1100, 0x1200, 0x1300, 0x1400, 0x1500
N, W, I = 1, 2, 4
TX, CTRL, OFFLOAD, INDIRECT, EVENT_IDX = 0, 4, 8, 1, 2


def seed(flags, descs, heads, blobs=(), table=None):
    mem = bytearray(0x600)

    def put(gpa, b):
        mem[gpa - BASE:gpa - BASE + len(b)] = b

    for i, (addr, ln, fl, nxt) in enumerate(descs):
        put(DESC + 16 * i, struct.pack('<QIHH', addr, ln, fl, nxt))
    put(DESC + 16 * QS, struct.pack('<HH', 0, len(heads)) + b''.join(struct.pack('<H', h) for h in heads))
    for gpa, b in blobs:
        put(gpa, b)
    for i, (addr, ln, fl, nxt) in enumerate(table or []):
        put(TABLE + 16 * i, struct.pack('<QIHH', addr, ln, fl, nxt))
    return bytes([flags, 2]) + bytes(mem)


def hdr(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, off=0):
    return struct.pack('<BBHHHHH', flags, gso, hdr_len, gso_size, start, off, 0)


ARP = bytes.fromhex('ffffffffffff020000000001080600010800060400010200000000010a4d0002000000000000'
                    '0a4d0001')


def main(out):
    os.makedirs(out, exist_ok=True)
    tx = [(HDR, 12, N, 1), (FRAME, len(ARP), 0, 0)]
    ctrl = lambda data: [(HDR, 2, N, 1), (DATA, len(data), N, 2), (ACK, 1, W, 0)]
    seeds = {
        'ok-tx-arp': seed(TX, tx, [0], [(HDR, hdr()), (FRAME, ARP)]),
        'ok-tx-one-buffer': seed(TX, [(HDR, 12 + len(ARP), 0, 0)], [0], [(HDR, hdr() + ARP)]),
        'ok-tx-indirect': seed(TX | INDIRECT, [(TABLE, 32, I, 0)], [0], [(HDR, hdr()), (FRAME, ARP)],
                               table=tx),
        'ok-tx-tso': seed(TX | OFFLOAD | EVENT_IDX, tx, [0],
                          [(HDR, hdr(1, 1, 54, 1400, 34, 16)), (FRAME, ARP)]),
        'ok-tx-gso-unnegotiated': seed(TX, tx, [0], [(HDR, hdr(1, 1, 54, 1400, 34, 16)), (FRAME, ARP)]),
        'ok-ctrl-promisc': seed(CTRL | OFFLOAD, ctrl(b'\x00'), [0], [(HDR, b'\x00\x00'), (DATA, b'\x00')]),
        'ok-ctrl-mac-table': seed(CTRL | OFFLOAD, ctrl(struct.pack('<I', 0) + struct.pack('<I', 1) +
                                                       bytes.fromhex('01005e000042')), [0],
                                  [(HDR, b'\x01\x00'), (DATA, struct.pack('<II', 0, 1) +
                                                        bytes.fromhex('01005e000042'))]),
        'ok-ctrl-unknown': seed(CTRL, ctrl(b'\x01'), [0], [(HDR, b'\x09\x00'), (DATA, b'\x01')]),
        'bad-tx-writable': seed(TX, [(HDR, 12, N, 1), (FRAME, 60, W, 0)], [0]),
        'bad-tx-short-header': seed(TX, [(HDR, 11, 0, 0)], [0]),
        'bad-tx-out-of-ram': seed(TX, [(HDR, 12, N, 1), (0x7fff0000, 60, 0, 0)], [0]),
        'bad-tx-loop': seed(TX, [(HDR, 12, N, 1), (FRAME, 60, N, 0)], [0]),
        'bad-ctrl-no-ack': seed(CTRL, [(HDR, 2, 0, 0)], [0], [(HDR, b'\x00\x00')]),
        'bad-ctrl-short': seed(CTRL, [(HDR, 1, N, 1), (ACK, 1, W, 0)], [0]),
        'bad-head': seed(TX, tx, [9]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'net-seeds'))
