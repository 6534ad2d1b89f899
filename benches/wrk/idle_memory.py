#!/usr/bin/env python3
"""Memory per idle keep-alive connection: the server's RSS growth per connection.

    idle_memory.py PID PORT CONNECTIONS [--ws PATH]

Opens 200 connections, makes a request on each and closes them (so that the server's allocator
and runtime have warmed up), then reads the server's VmRSS, opens CONNECTIONS connections, makes
one `GET /plaintext` on each, reads every response whole, waits a second, and reads VmRSS again.
Prints "KiB/connection N" (the growth divided by CONNECTIONS) and "connections N".

With `--ws PATH`, each connection is a WebSocket session instead: the handshake to PATH, then one
masked 16-byte text message, whose echo is read whole; the sessions then idle.
"""
import select
import socket
import sys
import time

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# A masked text frame of 16 bytes (the mask key is zero, so the payload reads as sent).
WS_MESSAGE = bytes([0x81, 0x80 | 16, 0, 0, 0, 0]) + b"idle session 16B"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def ws_session(port, path):
    """A WebSocket session past the handshake and one echo (the message goes after the 101:
    tungstenite's server refuses bytes that come with the request)."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.settimeout(60)
    conn.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv_some(conn)
    if not data.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no upgrade: {data[:80]!r}")
    data = data[data.index(b"\r\n\r\n") + 4 :]
    conn.sendall(WS_MESSAGE)
    while len(data) < 2 + 16:
        data += recv_some(conn)
    return conn


def recv_some(conn):
    chunk = conn.recv(4096)
    if not chunk:
        raise RuntimeError("the server closed a connection")
    return chunk


def response_done(data):
    """Whether `data` holds one whole response (a head with Content-Length, then the body)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(data) >= end + 4 + length


def open_and_request(port, count, ws):
    if ws:
        return [ws_session(port, ws) for _ in range(count)]
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(REQUEST)
        conns.append(conn)
    pending = {conn.fileno(): (conn, b"") for conn in conns}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + 60
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} responses missing after 60 s")
        for fd, _ in poller.poll(1000):
            conn, data = pending[fd]
            chunk = conn.recv(4096)
            if not chunk:
                raise RuntimeError("the server closed a connection")
            data += chunk
            if response_done(data):
                poller.unregister(fd)
                del pending[fd]
            else:
                pending[fd] = (conn, data)
    return conns


def main():
    pid, port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ws = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--ws" else None
    for conn in open_and_request(port, 200, ws):
        conn.close()
    time.sleep(1)
    before = rss_kib(pid)
    conns = open_and_request(port, count, ws)
    time.sleep(1)
    after = rss_kib(pid)
    print(f"KiB/connection {(after - before) / count:.2f}")
    print(f"connections {len(conns)}")
    for conn in conns:
        conn.close()


if __name__ == "__main__":
    main()
