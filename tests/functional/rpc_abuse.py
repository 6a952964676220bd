"""Hostile RPC clients against a real assayd (docs/rpc.md "Limits"):
unauthenticated large bodies are refused before they are read, so the
node's memory stays put; oversized headers get a quick error; connections
past -rpcmaxconnections take the place of the oldest unauthenticated one,
so an authenticated client is answered while silent sockets hold every
slot; an oversized batch and an
oversized reply get their documented errors while blocks keep coming; a
long non-ASCII unknown method is -32601; a flood of bad credentials writes
a bounded number of log lines; a weak ASSAY_SCRYPT_N needs ASSAY_TESTING;
under a low descriptor limit idle connections leave RPC_RESERVED_FDS free
and the node does not spin."""

import base64
import json
import os
import select
import socket
import subprocess
import threading
import time

import framework as fw

MAX_CONNS = 8
MAX_RESPONSE = 65536  # lowered through ASSAY_RPC_MAX_RESPONSE (tests only)
HEAD_TIMEOUT_S = 5    # RPC_HEAD_TIMEOUT_S


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connect(node, timeout=5):
    s = socket.create_connection(("127.0.0.1", node.rpcport), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_reply(s):
    """Whatever the server sends before closing (b"" if it just closed)."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def basic(cred):
    return "Basic " + base64.b64encode(cred.encode()).decode()


def rejected_lines(node):
    try:
        with open(node.log_path(), errors="replace") as f:
            return sum(1 for line in f if "rpc: rejected" in line)
    except OSError:
        return 0


def big_unauth_bodies(node):
    """Six connections at once each announce and send an 8 MB body with
    wrong credentials; the node must not buffer them."""
    pid = node.proc.pid
    before = vmrss_kib(pid)
    body = b"x" * 8_000_000
    socks, threads = [], []

    def push(s):
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("__cookie__:wrong").encode() +
                      b"\r\nContent-Length: %d\r\n\r\n" % len(body))
            s.sendall(body)
        except OSError:
            pass  # refused before the body: what we want

    for _ in range(6):
        s = connect(node, timeout=10)
        socks.append(s)
        t = threading.Thread(target=push, args=(s,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(30)
    time.sleep(0.3)
    grown = vmrss_kib(pid) - before
    replies = [read_reply(s) for s in socks]
    for s in socks:
        s.close()
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB for unauthenticated bodies"
    for r in replies:
        assert r == b"" or r.startswith(b"HTTP/1.1 401"), r[:80]
    print(f"unauthenticated 6 x 8 MB: RSS grew {grown} KiB")


def oversized_headers(node):
    pad = b"a" * 20_000
    for cred in ("__cookie__:wrong", node.cookie()):
        s = connect(node)
        start = time.time()
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic(cred).encode() +
                  b"\r\nX-Pad: " + pad + b"\r\nContent-Length: 2\r\n\r\n{}")
        reply = read_reply(s)
        s.close()
        took = time.time() - start
        assert reply.startswith(b"HTTP/1.1 431") or reply.startswith(b"HTTP/1.1 400"), reply[:80]
        assert took < 2, f"oversized header answered after {took:.1f}s"


def connection_cap(node):
    idle = [connect(node) for _ in range(MAX_CONNS)]
    time.sleep(0.3)
    # At the cap a new connection takes the place of the oldest one that
    # has sent no credentials: silent sockets cannot keep an authenticated
    # client out (before, it was refused until they timed out).
    extra = connect(node)
    readable, _, _ = select.select(idle, [], [], 3.0)
    assert any(fw.closed_within(s, 0.5) for s in readable), "no idle connection gave its place at the cap"
    assert not fw.closed_within(extra, 0.5), "the new connection was refused at the cap"
    start = time.time()
    assert node.rpc("getblockcount") >= 0
    took = time.time() - start
    assert took < 2, f"an authenticated call at the cap took {took:.1f}s"
    print(f"authenticated client answered in {took:.2f}s while idle connections held the slots")
    for s in idle + [extra]:
        s.close()


def batches(node):
    call = {"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}
    _, data = node.raw_request(json.dumps([call] * 100).encode())
    fw.assert_eq(len(json.loads(data)), 100, "a batch at RPC_MAX_BATCH")
    _, data = node.raw_request(json.dumps([call] * 101).encode())
    reply = json.loads(data)
    assert isinstance(reply, dict) and reply["error"]["code"] == -32600, reply
    assert "RPC_MAX_BATCH" in reply["error"]["message"], reply
    h = node.height()
    big = [{"jsonrpc": "2.0", "id": i, "method": "help"} for i in range(100)]
    _, data = node.raw_request(json.dumps(big).encode())
    assert len(data) < 4096, f"{len(data)} bytes came back"
    reply = json.loads(data)
    assert isinstance(reply, dict) and reply["error"]["code"] == -32001, reply
    assert "RPC_MAX_RESPONSE" in reply["error"]["message"], reply
    node.wait_for_height(h + 2, timeout=20)


def method_names(node):
    fw.assert_raises_rpc(-32601, node.rpc, "a" * 99 + "\u00e9")
    fw.assert_raises_rpc(-32601, node.rpc, "\u00e9" * 5000)
    fw.assert_raises_rpc(-32601, node.rpc, "getblockcount" + "x" * 100)


def log_flood(node):
    time.sleep(1.1)  # a fresh interval, so the first rejection below is logged
    before = rejected_lines(node)
    start = time.time()
    body = b'{"jsonrpc":"2.0","id":1,"method":"getblockcount"}'
    sent = 0

    def unauthorized():
        s = connect(node)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        reply = read_reply(s)
        s.close()
        assert reply.startswith(b"HTTP/1.1 401"), reply[:80]

    for _ in range(300):
        unauthorized()
        sent += 1
    # Into the next interval, so a line reports the ones left out.
    time.sleep(max(0.0, 1.2 - (time.time() - start)))
    for _ in range(10):
        unauthorized()
        sent += 1
    elapsed = time.time() - start
    time.sleep(0.2)
    lines = rejected_lines(node) - before
    assert 1 <= lines <= elapsed + 2, f"{lines} log lines for {sent} rejected requests in {elapsed:.1f}s"
    with open(node.log_path(), errors="replace") as f:
        assert "more not logged" in f.read(), "the suppressed count is not logged"
    print(f"{sent} rejected requests in {elapsed:.1f}s wrote {lines} log lines")


def weak_scrypt(node):
    env = {k: v for k, v in os.environ.items() if k != "ASSAY_TESTING"}
    env["ASSAY_SCRYPT_N"] = "2"
    env["ASSAY_PASSPHRASE"] = "pw"
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}",
           "wallet", "create", "weak"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode != 0 and "ASSAY_TESTING" in res.stderr, res.stderr + res.stdout
    assert not os.path.exists(os.path.join(node.datadir, "wallet", "weak.json"))
    env["ASSAY_TESTING"] = "1"
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr


FD_LIMIT = 256


def descriptor_reserve(tmpdir, nodes):
    """More idle connections than descriptors: the node keeps
    RPC_RESERVED_FDS free, does not spin, and answers again afterwards."""
    node = fw.StarvedNode(1, tmpdir, fd_limit=FD_LIMIT, extra_args=["-blocktime=200", "-rpcmaxconnections=1000"]).start()
    nodes.append(node)
    h = node.height()
    socks = []
    for _ in range(FD_LIMIT + 50):
        try:
            socks.append(connect(node))
        except OSError:
            break
    time.sleep(0.5)
    cpu = fw.cpu_seconds(node.proc.pid)
    time.sleep(2)
    spent = fw.cpu_seconds(node.proc.pid) - cpu
    assert spent < 0.5, f"the node used {spent:.2f}s of CPU in 2s with descriptors held"
    open_fds = len(os.listdir(f"/proc/{node.proc.pid}/fd"))
    assert open_fds <= FD_LIMIT - 100, f"{open_fds} descriptors open of {FD_LIMIT}"

    def answered():
        try:
            node.rpc("getblockcount")
            return True
        except OSError:
            return False

    fw.wait_until(answered, timeout=HEAD_TIMEOUT_S + 10, what="RPC after the descriptor flood")
    node.wait_for_height(h + 1, timeout=20)
    for s in socks:
        s.close()
    print(f"{len(socks)} idle connections under a {FD_LIMIT} limit: {open_fds} descriptors, "
          f"{spent:.2f}s CPU in 2s")


def test(tmpdir, nodes):
    os.environ["ASSAY_TESTING"] = "1"
    os.environ["ASSAY_RPC_MAX_RESPONSE"] = str(MAX_RESPONSE)
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200", f"-rpcmaxconnections={MAX_CONNS}"]).start()
    nodes.append(node)
    big_unauth_bodies(node)
    oversized_headers(node)
    method_names(node)
    batches(node)
    log_flood(node)
    connection_cap(node)
    weak_scrypt(node)
    h = node.height()
    node.wait_for_height(h + 1, timeout=20)
    descriptor_reserve(tmpdir, nodes)


if __name__ == "__main__":
    fw.run(test)
