"""Address gossip (docs/p2p.md §6, §10): nodes A (the producer), B and C form
a line A <- B <- C, each told only of its neighbour. A newcomer D is given
one seed, A, and nothing else, and does not listen: it learns B and C from
A's answer to its getaddr (A heard of C from B's relay of C's address),
dials them from its address book, and syncs A's chain. Restarted with no seed at all, D finds its peers again
from peers.dat."""

import framework as fw


def outbound_ports(node):
    ports = set()
    for p in node.rpc("getpeerinfo"):
        if not p["inbound"]:
            ports.add(int(p["addr"].rsplit(":", 1)[1]))
    return ports


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(a)
    b = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-addnode={fw.p2p_addr(a)}"]).start()
    nodes.append(b)
    fw.wait_until(lambda: len(b.rpc("getpeerinfo")) >= 1, 30, "B to reach A")
    c = fw.Node(2, tmpdir, extra_args=["-novalidator", f"-addnode={fw.p2p_addr(b)}"]).start()
    nodes.append(c)
    fw.wait_until(lambda: fw.p2p_addr(b) in [p["addr"] for p in c.rpc("getpeerinfo")], 30, "C to reach B")
    a.wait_for_height(5, timeout=60)

    # D: one seed, no -addnode, no -connect, and not listening, so that no
    # peer can dial it and be learnt that way: B and C must come from A's addr.
    d = fw.Node(3, tmpdir, extra_args=["-novalidator", "-nolisten", f"-seednode={fw.p2p_addr(a)}"]).start()
    nodes.append(d)
    want = {a.port, b.port, c.port}
    fw.wait_until(lambda: want <= outbound_ports(d), 45,
                  f"D to dial A, B and C from its address book (has {sorted(outbound_ports(d))})")
    fw.sync_tips([a, d], timeout=60)
    h = a.height()
    d.wait_for_height(h + 2, timeout=60)  # and follows new blocks

    # Restart D with no seed: peers.dat brings A, B and C back.
    d.stop()
    d.extra_args = ["-novalidator", "-nolisten"]
    d.start()
    fw.wait_until(lambda: len(outbound_ports(d) & want) >= 2, 45,
                  f"D to redial its peers from peers.dat (has {sorted(outbound_ports(d))})")
    d.wait_for_height(a.height(), timeout=60)


if __name__ == "__main__":
    fw.run(test)
