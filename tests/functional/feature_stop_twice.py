"""A second SIGTERM while the node stops (docs/operations.md "Running under
systemd"): systemd, a script or an impatient operator may send it. The node
keeps stopping cleanly: exit status 0, "shutdown complete" in debug.log, a
line saying it was already stopping, no pid file left, and the data
directory opens again with its chain.

The signal events were freed before the RPC flush and the database close,
so libevent put back SIG_DFL and a repeat then killed the node (status
143, LevelDB not closed, assayd.pid left). To land the repeat inside the
close for certain, clients that ask for a large reply and never read it
keep the RPC flush waiting for its full RPC_SHUTDOWN_FLUSH_MS (1 s)."""

import base64
import json
import os
import signal
import socket
import time

import framework as fw

SLOW_READERS = 4  # connections with replies the node cannot hand over
PIPELINED = 24  # requests sent on each at once: replies beyond what the kernel buffers


def slow_reader(node):
    """A connection with megabytes of replies pending (PIPELINED batches
    of 100 help calls, ~340 kB each, more than a loopback socket's send
    buffer grows to) and a 4 kB receive buffer it never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", node.rpcport))
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "help"} for i in range(100)]).encode()
    auth = base64.b64encode(node.cookie().encode())
    request = (b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth +
               b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
               b"\r\n\r\n" + body)
    s.sendall(request * PIPELINED)
    return s


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def stop_twice(node, after_loop, gap):
    """SIGTERM, then another gap seconds later (after the loop has ended,
    "shutting down", if after_loop); the exit status and the new log."""
    readers = [slow_reader(node) for _ in range(SLOW_READERS)]
    time.sleep(0.5)  # the replies are made and stuck in the sockets
    log = node.log_path()
    start = len(read(log))
    node.proc.send_signal(signal.SIGTERM)
    if after_loop:
        fw.wait_until(lambda: "] shutting down" in read(log)[start:], 10, "the loop to end", interval=0.01)
    time.sleep(gap)  # two signals sent at once are one pending signal
    node.proc.send_signal(signal.SIGTERM)
    rc = node.stop()
    for s in readers:
        s.close()
    return rc, read(log)[start:]


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=100"])
    nodes.append(node)
    pidfile = os.path.join(node.datadir, "assayd.pid")
    # Inside the close (the RPC flush); inside the loop's 100 ms grace.
    for after_loop, gap in ((True, 0.2), (False, 0.03)):
        node.start()
        node.wait_for_height(node.height() + 2)
        height = node.height()
        rc, lines = stop_twice(node, after_loop, gap)
        fw.assert_eq(rc, 0, f"exit status after two SIGTERMs (gap {gap}): {lines[-1500:]}")
        assert "shutdown complete" in lines, f"no 'shutdown complete' (gap {gap}): {lines[-1500:]}"
        assert "already stopping" in lines, f"the repeat was not noted (gap {gap}): {lines[-1500:]}"
        assert not os.path.exists(pidfile), f"assayd.pid left (gap {gap})"
        node.start()
        assert node.height() >= height, f"height {node.height()} after a restart, {height} before"
        fw.assert_eq(node.stop(), 0, "exit status of the reopened node")


if __name__ == "__main__":
    fw.run(test)
