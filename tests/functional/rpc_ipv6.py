"""The RPC over IPv6 (docs/rpc.md "Who may connect", "Limits"). Always:
a dual-stack -rpcbind=:: answers ::1 (always let in) and matches an IPv4
client as its IPv4 address, so -rpcallowip=127.0.0.2 lets 127.0.0.2 in
and 127.0.0.3 still gets 403; -rpcbind=::1 serves ::1 alone.

Where this process may add addresses to the loopback interface (root with
CAP_NET_ADMIN), also with addresses beyond ::1, added for the test and
removed after it: an IPv6 -rpcallowip subnet lets in what it covers and
refuses what it does not, and wrong logins lock out their whole /64 (two
addresses of one /64 are one client), while another /64 is answered."""

import json
import socket
import subprocess
import time

import framework as fw
from rpc_abuse import basic, read_reply

FAILS_MAX = 10  # RPC_AUTH_FAILS_MAX
# in fd00::/8 (unique local): never routed beyond a site
NET_A1 = "fd00:a55a:0:1::2"
NET_A2 = "fd00:a55a:0:1::3"  # the same /64 as NET_A1
NET_B = "fd00:a55a:0:2::2"   # another /64 of the same /48
OUTSIDE = "fd00:a55b::2"     # outside fd00:a55a::/48


def status_of(port, source, dest, user_pass):
    """The HTTP status of one getblockcount call with Basic user_pass from
    address source to dest:port (0: closed unanswered)."""
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    if source:
        s.bind((source, 0))
    s.connect((dest, port))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount", "params": []}).encode()
    try:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic(user_pass).encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\nConnection: close\r\n\r\n" + body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = read_reply(s)
    s.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else 0


def wait_up(node, dest):
    """Waits until the node answers getblockcount on dest."""
    deadline = time.time() + 30
    while True:
        assert node.proc.poll() is None, f"node exited with {node.proc.returncode}: {node.tail()}"
        try:
            if status_of(node.rpcport, None, dest, node.cookie()) == 200:
                return
        except OSError:
            pass
        assert time.time() < deadline, f"RPC not up on {dest}"
        time.sleep(0.1)


def add_addresses(addrs):
    """Adds each address to lo; False (nothing left added) if not allowed."""
    added = []
    for a in addrs:
        r = subprocess.run(["ip", "-6", "addr", "add", f"{a}/128", "dev", "lo", "nodad"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            remove_addresses(added)
            return False
        added.append(a)
    return True


def remove_addresses(addrs):
    for a in addrs:
        subprocess.run(["ip", "-6", "addr", "del", f"{a}/128", "dev", "lo"], capture_output=True)


def test(tmpdir, nodes):
    if not socket.has_ipv6:
        fw.skip("no IPv6 in this Python")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError as e:
        fw.skip(f"no ::1 on this machine ({e})")

    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"])
    nodes.append(node)

    # dual stack: IPv6 and IPv4 clients on one socket
    node.start(extra=["-rpcbind=::", "-rpcallowip=127.0.0.2"], wait=False)
    wait_up(node, "::1")
    cookie = node.cookie()
    fw.assert_eq(status_of(node.rpcport, None, "::1", cookie), 200, "::1 on -rpcbind=::")
    fw.assert_eq(status_of(node.rpcport, "127.0.0.1", "127.0.0.1", cookie), 200, "127.0.0.1 on -rpcbind=::")
    fw.assert_eq(status_of(node.rpcport, "127.0.0.2", "127.0.0.1", cookie), 200,
                 "127.0.0.2 on -rpcbind=:: (matched as IPv4)")
    fw.assert_eq(status_of(node.rpcport, "127.0.0.3", "127.0.0.1", cookie), 403, "127.0.0.3 on -rpcbind=::")
    fw.assert_eq(node.stop(), 0, "exit status")

    # -rpcbind=::1: IPv6 loopback alone
    node.start(extra=["-rpcbind=::1"], wait=False)
    wait_up(node, "::1")
    fw.assert_eq(status_of(node.rpcport, None, "::1", node.cookie()), 200, "::1 on -rpcbind=::1")
    try:
        got = status_of(node.rpcport, "127.0.0.1", "127.0.0.1", node.cookie())
    except ConnectionRefusedError:
        got = "refused"
    fw.assert_eq(got, "refused", "127.0.0.1 on -rpcbind=::1")
    fw.assert_eq(node.stop(), 0, "exit status")

    addrs = [NET_A1, NET_A2, NET_B, OUTSIDE]
    if not add_addresses(addrs):
        print("IPv4-mapped and ::1 checked; IPv6 subnets not checked: cannot add addresses to lo here")
        return
    try:
        node.start(extra=["-rpcbind=::", "-rpcallowip=fd00:a55a::/48"], wait=False)
        wait_up(node, "::1")
        cookie = node.cookie()
        fw.assert_eq(status_of(node.rpcport, NET_A1, "::1", cookie), 200, f"{NET_A1} in the subnet")
        fw.assert_eq(status_of(node.rpcport, NET_B, "::1", cookie), 200, f"{NET_B} in the subnet")
        fw.assert_eq(status_of(node.rpcport, OUTSIDE, "::1", cookie), 403, f"{OUTSIDE} outside the subnet")
        for i in range(FAILS_MAX):
            fw.assert_eq(status_of(node.rpcport, NET_A1, "::1", f"__cookie__:guess{i}"), 401, f"wrong guess {i}")
        fw.assert_eq(status_of(node.rpcport, NET_A1, "::1", cookie), 429, "the guessing address")
        fw.assert_eq(status_of(node.rpcport, NET_A2, "::1", cookie), 429, "another address of its /64")
        fw.assert_eq(status_of(node.rpcport, NET_B, "::1", cookie), 200, "another /64")
        fw.assert_eq(status_of(node.rpcport, None, "::1", cookie), 200, "::1 meanwhile")
        fw.assert_eq(node.stop(), 0, "exit status")
    finally:
        node.stop()
        remove_addresses(addrs)
    print("IPv6: ::1 and IPv4-mapped clients matched; a subnet let in what it covers; a /64 locked out as one")


if __name__ == "__main__":
    fw.run(test)
