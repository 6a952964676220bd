"""Wrong RPC credentials lock their address out for a while (docs/rpc.md
"Limits"): after RPC_AUTH_FAILS_MAX wrong logins from one address within
RPC_AUTH_FAIL_WINDOW_MS, its requests get HTTP 429 unread — the right
credentials too, or a guesser would learn when it guessed right — until
the window ends, so a weak -rpcpassword cannot be guessed at network
speed. Another address, and the node's own clients on 127.0.0.1, are
answered meanwhile. The guesser here connects from 127.0.0.2 (let in by
-rpcallowip, as an address beyond this machine would be)."""

import json
import os
import socket
import time

import framework as fw
from rpc_abuse import basic, read_reply

FAILS_MAX = 10      # RPC_AUTH_FAILS_MAX
WINDOW_S = 10       # RPC_AUTH_FAIL_WINDOW_MS


def status_of(node, source, user_pass):
    """The HTTP status of one getblockcount call with Basic user_pass, from
    the loopback address source."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", node.rpcport))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount", "params": []}).encode()
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic(user_pass).encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
              b"\r\nConnection: close\r\n\r\n" + body)
    data = read_reply(s)
    s.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else 0


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200", "-rpcallowip=127.0.0.0/8"]).start()
    nodes.append(node)
    with open(os.path.join(node.datadir, ".cookie")) as f:
        cookie = f.read().strip()
    for i in range(FAILS_MAX):
        fw.assert_eq(status_of(node, "127.0.0.2", f"__cookie__:guess{i}"), 401, f"wrong guess {i}")
    fw.assert_eq(status_of(node, "127.0.0.2", "__cookie__:guess-more"), 429, "a guess past the limit")
    fw.assert_eq(status_of(node, "127.0.0.2", cookie), 429, "the right credentials from the locked address")
    fw.assert_eq(status_of(node, "127.0.0.3", cookie), 200, "another address")
    fw.assert_eq(status_of(node, "127.0.0.1", cookie), 200, "the node's own clients on 127.0.0.1")
    for i in range(2 * FAILS_MAX):  # the node's own address is never locked out
        status_of(node, "127.0.0.1", f"__cookie__:local{i}")
    fw.assert_eq(status_of(node, "127.0.0.1", cookie), 200, "127.0.0.1 after many wrong logins")
    time.sleep(WINDOW_S + 0.5)
    fw.assert_eq(status_of(node, "127.0.0.2", cookie), 200, "the locked address once the window ended")
    print("an address was locked out after its wrong logins, and let in after the window")


if __name__ == "__main__":
    fw.run(test)
