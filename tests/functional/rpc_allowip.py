"""Who may reach the RPC (docs/rpc.md "Who may connect"): 127.0.0.1
always; any other address only when a -rpcallowip covers it, the rest of
127.0.0.0/8 included, so 127.0.0.2 stands in here for a machine beyond
this one. A refused address gets HTTP 403 and the connection closes before
its request is read: the right credentials do not help, and a client that
sends nothing is closed as well; a refused connection takes no place
under -rpcmaxconnections, so it cannot push out one still sending its
credentials. assayd -help lists the option, and the
assay.conf lines of docs/operations.md "RPC beyond this machine" start a
node that refuses an address they do not name."""

import json
import os
import re
import socket
import subprocess
import time

import framework as fw
from rpc_abuse import basic, read_reply


def status_of(node, source, cookie):
    """The HTTP status of one getblockcount call with the right
    credentials from the loopback address source (0: closed unanswered)."""
    s = fw.connect_from(node.rpcport, source)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount", "params": []}).encode()
    try:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic(cookie).encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\nConnection: close\r\n\r\n" + body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed already: what it had sent first is what it says
    data = read_reply(s)
    s.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else 0


def silent_reply(node, source):
    """What a connection from source that sends nothing gets before the
    node closes it (None: still open after 3 s)."""
    s = fw.connect_from(node.rpcport, source)
    s.settimeout(3)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        data = None
    s.close()
    return data


def cookie_of(node):
    with open(os.path.join(node.datadir, ".cookie")) as f:
        return f.read().strip()


def test(tmpdir, nodes):
    # no -rpcallowip: the node's own clients alone
    node = fw.Node(0, tmpdir).start()
    nodes.append(node)
    cookie = cookie_of(node)
    fw.assert_eq(status_of(node, "127.0.0.1", cookie), 200, "127.0.0.1 without -rpcallowip")
    fw.assert_eq(status_of(node, "127.0.0.2", cookie), 403, "127.0.0.2 without -rpcallowip")
    reply = silent_reply(node, "127.0.0.2")
    assert reply is not None and reply.startswith(b"HTTP/1.1 403 "), f"a silent client from 127.0.0.2 got {reply!r}"
    fw.assert_eq(silent_reply(node, "127.0.0.1"), None, "a silent client from 127.0.0.1 (kept while it may send)")
    deadline = time.time() + 5
    while "a connection from an address no -rpcallowip allows from 127.0.0.2:" not in open(node.log_path()).read():
        assert time.time() < deadline, "no log line for the refused address"
        time.sleep(0.1)
    fw.assert_eq(node.stop(), 0, "exit status")

    # one address and one subnet let in, repeated on the command line
    node.start(extra=["-rpcallowip=127.0.0.2", "-rpcallowip=127.0.1.0/24"])
    cookie = cookie_of(node)
    fw.assert_eq(status_of(node, "127.0.0.2", cookie), 200, "the address -rpcallowip names")
    fw.assert_eq(status_of(node, "127.0.1.77", cookie), 200, "an address in the -rpcallowip subnet")
    fw.assert_eq(status_of(node, "127.0.0.3", cookie), 403, "an address no -rpcallowip covers")
    fw.assert_eq(status_of(node, "127.0.2.1", cookie), 403, "just past the subnet")
    fw.assert_eq(status_of(node, "127.0.0.1", cookie), 200, "127.0.0.1 beside -rpcallowip")
    fw.assert_eq(node.stop(), 0, "exit status")
    assert "names addresses beyond this machine" not in open(node.log_path()).read(), "a warning for loopback entries"

    # an entry beyond this machine with a loopback -rpcbind: warned about
    node.start(extra=["-rpcallowip=192.0.2.0/24"])
    fw.assert_eq(node.stop(), 0, "exit status")
    assert ("rpc: -rpcallowip=192.0.2.0/24 names addresses beyond this machine, but -rpcbind=127.0.0.1 "
            "listens on loopback only") in open(node.log_path()).read(), "no warning for an unreachable entry"

    # a refused address takes no place under -rpcmaxconnections: it
    # neither counts nor pushes out a connection still without credentials
    node.start(extra=["-rpcmaxconnections=2"])
    silent = [fw.connect_from(node.rpcport, "127.0.0.1") for _ in range(2)]
    time.sleep(0.2)
    for i in range(5):
        fw.assert_eq(status_of(node, "127.0.0.2", cookie_of(node)), 403, f"refused address, try {i}")
    for i, s in enumerate(silent):
        s.settimeout(0.2)
        try:
            got = s.recv(1)
        except socket.timeout:
            got = None
        except ConnectionResetError:
            got = b""
        fw.assert_eq(got, None, f"silent connection {i} from 127.0.0.1 after refused ones from 127.0.0.2")
        s.close()
    fw.assert_eq(node.stop(), 0, "exit status")

    # the flag is in -help
    out = subprocess.run([fw.binary("assayd"), "-help"], capture_output=True, text=True, timeout=20).stdout
    assert "-rpcallowip=IP[/NET]" in out, "assayd -help does not list -rpcallowip"

    # the documented assay.conf lines start a node, which keeps 127.0.0.2 out
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "operations.md")) as f:
        section = f.read().split("## RPC beyond this machine", 1)[1]
    conf = re.search(r"```\n(.*?)```", section, re.S).group(1)
    assert "rpcallowip=" in conf and "rpcbind=" in conf, conf
    docs_node = fw.Node(1, tmpdir)
    nodes.append(docs_node)
    with open(os.path.join(docs_node.datadir, "assay.conf"), "w") as f:
        f.write(conf)
    docs_node.start()
    cookie = cookie_of(docs_node)
    fw.assert_eq(status_of(docs_node, "127.0.0.1", cookie), 200, "127.0.0.1, with the documented conf")
    fw.assert_eq(status_of(docs_node, "127.0.0.2", cookie), 403, "127.0.0.2, with the documented conf")
    fw.assert_eq(docs_node.stop(), 0, "exit status")
    print("-rpcallowip let in what it names and 127.0.0.1; every other address got 403 unread")


if __name__ == "__main__":
    fw.run(test)
