#!/usr/bin/env python3
"""Writes the virtio fuzz seeds (see virtio_target.c for the input format):
ok-* are chains a correct driver sends, bad-* are hostile ones."""
import os
import struct
import sys

BASE = 0x1000
QS = 4
DESC, AVAIL, USED = BASE, BASE + 16 * QS, 0x1050
HDR, STATUS, DATA, TABLE = 0x1100, 0x1110, 0x1200, 0x1400
N, W, I = 1, 2, 4


def seed(flags, descs, heads, hdr_type=0, sector=0, extra=None, table=None, avail_idx=None):
    mem = bytearray(0x600)

    def put(gpa, b):
        mem[gpa - BASE:gpa - BASE + len(b)] = b

    for i, (addr, ln, fl, nxt) in enumerate(descs):
        put(DESC + 16 * i, struct.pack('<QIHH', addr, ln, fl, nxt))
    ring = b''.join(struct.pack('<H', h) for h in heads)
    idx = len(heads) if avail_idx is None else avail_idx
    put(AVAIL, struct.pack('<HH', 0, idx) + ring)
    put(HDR, struct.pack('<IIQ', hdr_type, 0, sector))
    if extra:
        put(DATA, extra)
    for i, (addr, ln, fl, nxt) in enumerate(table or []):
        put(TABLE + 16 * i, struct.pack('<QIHH', addr, ln, fl, nxt))
    return bytes([flags, 2]) + bytes(mem)


def rw(t, data_flags):
    return [(HDR, 16, N, 1), (DATA, 512, data_flags | N, 2), (STATUS, 1, W, 0)]


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        'ok-read': seed(0, rw(0, W), [0], 0, 3),
        'ok-write': seed(0, rw(1, 0), [0], 1, 5, b'\x5a' * 512),
        'ok-flush': seed(0, [(HDR, 16, N, 1), (STATUS, 1, W, 0)], [0], 4),
        'ok-get-id': seed(0, [(HDR, 16, N, 1), (DATA, 20, W | N, 2), (STATUS, 1, W, 0)], [0], 8),
        'ok-indirect-read': seed(1, [(TABLE, 48, I, 0)], [0], 0, 1,
                                 table=[(HDR, 16, N, 1), (DATA, 512, W | N, 2), (STATUS, 1, W, 0)]),
        'ok-event-idx': seed(3, rw(0, W), [0], 0),
        'ok-discard': seed(0, [(HDR, 16, N, 1), (DATA, 16, N, 2), (STATUS, 1, W, 0)], [0], 11,
                           extra=struct.pack('<QII', 8, 8, 0)),
        'ok-bad-sector': seed(0, rw(0, W), [0], 0, 1 << 40),
        'bad-loop': seed(0, [(HDR, 16, N, 1), (DATA, 512, W | N, 0)], [0], 0),
        'bad-out-of-ram': seed(0, [(HDR, 16, N, 1), (0x7fff0000, 512, W | N, 2), (STATUS, 1, W, 0)], [0]),
        'bad-zero-length': seed(0, [(HDR, 16, N, 1), (DATA, 0, W | N, 2), (STATUS, 1, W, 0)], [0]),
        'bad-direction': seed(0, [(STATUS, 1, W | N, 1), (HDR, 16, 0, 0)], [0]),
        'bad-huge-indirect': seed(1, [(TABLE, 16 * 5000, I, 0)], [0]),
        'bad-indirect-unnegotiated': seed(0, [(TABLE, 48, I, 0)], [0],
                                          table=[(HDR, 16, N, 1), (DATA, 512, W | N, 2), (STATUS, 1, W, 0)]),
        'bad-head': seed(0, rw(0, W), [9]),
        'bad-avail-jump': seed(0, rw(0, W), [0], avail_idx=200),
        'bad-no-status': seed(0, [(HDR, 16, N, 1), (DATA, 512, 0, 0)], [0], 1),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'seeds'))
