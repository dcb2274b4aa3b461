#!/usr/bin/python3
"""A real WebSocket client (python3-websocket, as websockify and Nova's
serial console clients use) against picostackd's WebSocket seam:
/usr/bin/python3 ws_client.py URL [--expect-echo | --console PAYLOAD EXPECT].

--expect-echo (default): asks for the "binary" subprotocol, checks it was
chosen, round-trips text, binary and a 100 KiB message, pings, closes.
--console PAYLOAD EXPECT: sends PAYLOAD as binary, reads until EXPECT
appears in what comes back (a serial console relay), then closes."""
import sys

import websocket


def echo(url):
    ws = websocket.create_connection(url, subprotocols=["binary"], timeout=10)
    assert ws.getsubprotocol() == "binary", ws.getsubprotocol()
    ws.send("hello")
    assert ws.recv() == "hello"
    blob = bytes(range(256)) * 400
    ws.send_binary(blob)
    assert ws.recv() == blob
    ws.ping(b"p")
    ws.send("after ping")
    while True:
        op, data = ws.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_PONG:
            assert data == b"p"
            continue
        assert data == b"after ping", data
        break
    ws.close()


def console(url, payload, expect):
    ws = websocket.create_connection(url, subprotocols=["binary"], timeout=60)
    ws.send_binary(payload.encode())
    got = b""
    while expect.encode() not in got:
        data = ws.recv()
        got += data if isinstance(data, bytes) else data.encode()
    ws.close()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[2] == "--console":
        console(sys.argv[1], sys.argv[3], sys.argv[4])
    else:
        echo(sys.argv[1])
    print("ws_client: ok")
