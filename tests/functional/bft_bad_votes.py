"""Consensus messages from a hostile raw-socket peer (docs/p2p.md §4, §9):
votes for heights far ahead are dropped without points (an honest peer may
be ahead of us); votes signed by a key outside the validator set and votes
with a bad signature cost 20 points each, so the fifth bans the sender;
a proposal whose bytes do not decode costs points too. The chain goes on."""

import os
import struct
import time

import framework as fw
from p2p_bad_peer import RawPeer, banned_ips, frame, peer_by_ip, varint


def vote(height, validator, value=None):
    value = value or os.urandom(32)
    return (bytes([1]) + struct.pack("<QI", height, 0) + b"\x01" + value + validator + os.urandom(64))


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(a)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(2)

    p = RawPeer(a, 31)
    p.handshake(chain_id)
    # far ahead: no points, still connected
    for _ in range(8):
        body = vote(a.height() + 1000, os.urandom(32))
        p.send(frame("vote", varint(len(body)) + body))
    time.sleep(0.5)
    assert p.alive(), "a peer sending far-ahead votes was disconnected"
    info = peer_by_ip(a, p.ip)
    assert info is not None and info["score"] == 0, info

    # unknown signers at the engine's next height (tip + 2): 20 points
    # each. Not tip + 1: a block decided between the height read and the
    # vote arriving makes that a past height, which costs nothing.
    for i in range(4):
        body = vote(a.height() + 2, os.urandom(32))
        p.send(frame("vote", varint(len(body)) + body))
    fw.wait_until(lambda: (peer_by_ip(a, p.ip) or {}).get("score", 0) >= 80, 10, "score of 80")
    assert p.ip not in banned_ips(a)
    # a proposal that does not decode: the fifth fault bans
    junk = os.urandom(60)
    p.send(frame("proposal", varint(len(junk)) + junk))
    fw.wait_until(lambda: p.ip in banned_ips(a), 10, "ban after five invalid consensus messages")
    p.close()

    h = a.height()
    a.wait_for_height(h + 3, timeout=20)


if __name__ == "__main__":
    fw.run(test)
