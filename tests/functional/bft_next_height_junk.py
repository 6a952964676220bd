"""Consensus messages for the next height from a peer without a key
(docs/consensus.md §5): a follower checks them as a validator does, before
it keeps or relays them. Votes signed by keys outside the validator set, with
made-up signatures, sent to a follower for the height after the one its
engine is deciding, cost the sender its points there and go no further: the
validator behind the follower never sees them, so it does not take the
follower for their author and ban it, and the follower keeps following.
(Once a follower buffered and relayed such votes unchecked, and the validator
banned it after five.)"""

import os
import time

import framework as fw
from bft_bad_votes import vote
from p2p_bad_peer import RawPeer, banned_ips, frame, peer_by_ip, varint


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(a)
    b = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"]).start()
    nodes.append(b)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(2)
    fw.wait_until(lambda: b.height() >= 2, 20, "the follower syncs")

    p = RawPeer(b, 32)
    p.handshake(chain_id)
    for _ in range(5):
        # the engine decides chain height + 1: this is the height after it
        body = vote(b.height() + 2, os.urandom(32))
        p.send(frame("vote", varint(len(body)) + body))
    fw.wait_until(lambda: p.ip in banned_ips(b), 10, "the follower bans the sender of forged votes")
    p.close()
    time.sleep(1)  # what a relay would have brought the validator by now

    assert "127.0.0.1" not in banned_ips(a), f"the validator banned its follower: {banned_ips(a)}"
    info = peer_by_ip(a, "127.0.0.1")
    assert info is not None and info["score"] == 0, f"the follower was charged for what it relayed: {info}"
    h = a.height()
    fw.wait_until(lambda: b.height() >= h + 3, 20, "the follower keeps following")


if __name__ == "__main__":
    fw.run(test)
