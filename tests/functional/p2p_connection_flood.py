"""Connections anyone can make do not fill debug.log (docs/operations.md
"Logs"): at the default log level, inbound connections that come to
nothing (opened and closed before a handshake, or garbage instead of a
version) write at most one line a minute, which names the latest and counts
the rest; with -debug=net each is listed. Every connection wrote two info
lines ("inbound connection from", "disconnected"): 375 a second made
~1.1 GB a day."""

import os
import socket
import time

import framework as fw

CONNECTIONS = 600
MAX_GROWTH = 1024  # bytes of net lines in debug.log for all of them: a few lines, not one per connection


def flood(node, count):
    for i in range(count):
        with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
            if i % 2:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not our protocol


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=500"])
    nodes.append(node)
    node.start()
    node.wait_for_height(1)
    log = node.log_path()
    time.sleep(0.5)
    before = os.path.getsize(log)
    flood(node, CONNECTIONS)
    time.sleep(1.5)  # the node has seen every close
    with open(log, errors="replace") as f:
        f.seek(before)
        added = f.read()
    net_lines = [l for l in added.splitlines() if "] net: " in l]  # blocks are logged too
    grew = sum(len(l) + 1 for l in net_lines)
    assert grew < MAX_GROWTH, (f"debug.log grew by {grew} bytes of net lines for {CONNECTIONS} connections "
                               f"({len(net_lines)} lines); first: {net_lines[:3]}")
    inbound = [l for l in net_lines if "net: inbound" in l]
    assert inbound, "nothing at the default level says inbound connections came to nothing"
    assert node.proc.poll() is None, "the node stopped"
    fw.assert_eq(node.stop(), 0, "exit status")

    # -debug=net: each one is listed.
    node.start(extra=["-debug=net"])
    before = os.path.getsize(log)
    flood(node, 20)
    # (127.0.0.1 is banned by now for its garbage: refused, and listed)
    fw.wait_until(lambda: open(log, errors="replace").read()[before:].count("[debug] net: inbound 127.0.0.1") >= 20,
                  10, "a -debug=net line for each connection")
    fw.assert_eq(node.stop(), 0, "exit status with -debug=net")


if __name__ == "__main__":
    fw.run(test)
