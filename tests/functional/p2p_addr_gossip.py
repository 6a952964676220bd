"""Address gossip (docs/p2p.md §6, §10): nodes A (the producer), B and C form
a line A <- B <- C, each told only of its neighbour. A newcomer D is given
one seed, A, and nothing else, and does not listen: it learns B and C from
A's answer to its getaddr (A heard of C from B's relay of C's address),
dials them from its address book, and syncs A's chain; getnodeaddresses shows all three in its tried table.
Restarted with no seed at all, D has them again from peers.dat and
redials them. Then a raw peer floods A with 5000 addresses: A takes what
its rate budget allows from one peer (1000), keeps at most one eighth of
its new table from that source, loses none of the honest addresses it
knew, and gives the flooder no points."""

import struct
import time

import framework as fw
from p2p_bad_peer import RawPeer, frame, varint

FLOOD_SOURCE = 9  # the flooding peer connects from 127.0.0.9


def addr_payload(ips, port=19444):
    """An addr message: ips as IPv4-mapped addresses, seen now."""
    now = int(time.time())
    out = varint(len(ips))
    for ip in ips:
        out += bytes(10) + b"\xff\xff" + bytes(ip) + struct.pack("<HQ", port, now)
    return out


def flood(a):
    """A raw peer sends A five addr messages of 1000 addresses, each
    address in its own /16. A takes the first 1000 (its rate budget), drops
    the rest without points, and keeps at most 8 buckets of 64 from one
    source; the honest peers it knew stay in its book."""
    before = a.rpc("getnodeaddresses", 0)
    honest = {e["address"] for e in before}
    peer = RawPeer(a, FLOOD_SOURCE)
    peer.handshake(bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"]))
    batches = [[(60 + b, k % 256, k // 256, 1) for k in range(1000)] for b in range(5)]
    for batch in batches:
        peer.send(frame("addr", addr_payload(batch)))
    assert peer.alive(), "A closed the flooding peer: an addr flood costs no points"
    entries = a.rpc("getnodeaddresses", 0)
    from_flood = [e for e in entries if e["source"] == f"127.0.0.{FLOOD_SOURCE}"]
    assert 0 < len(from_flood) <= 8 * 64, f"{len(from_flood)} addresses from one source"
    print(f"A kept {len(from_flood)} of the flood's 5000 addresses, {len(honest)} honest ones")
    later = {f"{60 + b}." for b in range(1, 5)}
    over_rate = [e for e in from_flood if any(e["address"].startswith(p) for p in later)]
    assert not over_rate, f"addresses past the rate budget were taken: {over_rate[:3]}"
    still = {e["address"] for e in entries}
    assert honest <= still, f"the flood pushed out {sorted(honest - still)}"
    fw.assert_eq(len(entries), len(honest) + len(from_flood), "book size")
    peer_info = [p for p in a.rpc("getpeerinfo") if p["addr"].startswith(f"127.0.0.{FLOOD_SOURCE}:")]
    assert peer_info and peer_info[0]["score"] == 0, peer_info
    peer.close()


def outbound_ports(node):
    """Ports of the outbound peers whose handshake is done (a user agent
    heard). A dial counts in the book as a failure until the handshake marks
    it good, so a connection still in its handshake shows tried False and
    failures 1: the race behind this test's rare failures."""
    ports = set()
    for p in node.rpc("getpeerinfo"):
        if not p["inbound"] and p["user_agent"]:
            ports.add(int(p["addr"].rsplit(":", 1)[1]))
    return ports


def book(node):
    return {e["address"]: e for e in node.rpc("getnodeaddresses", 0)}


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
    entries = book(d)
    for n in (a, b, c):
        e = entries.get(fw.p2p_addr(n))
        assert e and e["tried"] and e["failures"] == 0, f"D's book entry for {fw.p2p_addr(n)}: {e}"
    fw.sync_tips([a, d], timeout=60)
    h = a.height()
    d.wait_for_height(h + 2, timeout=60)  # and follows new blocks

    # Restart D with no seed: peers.dat brings A, B and C back.
    d.stop()
    d.extra_args = ["-novalidator", "-nolisten"]
    d.start()
    restored = book(d)
    for n in (a, b, c):
        assert restored.get(fw.p2p_addr(n), {}).get("tried"), f"peers.dat lost {fw.p2p_addr(n)}: {restored}"
    fw.wait_until(lambda: len(outbound_ports(d) & want) >= 2, 45,
                  f"D to redial its peers from peers.dat (has {sorted(outbound_ports(d))})")
    d.wait_for_height(a.height(), timeout=60)

    flood(a)


if __name__ == "__main__":
    fw.run(test)
