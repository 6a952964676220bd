"""Transactions relayed by a peer are checked in batches on the node's
verification pool (docs/p2p.md §12): a raw peer pushes 20 valid transfers
and one with a flipped signature in one write. The valid ones enter the
mempool and are announced to another peer (never back to the sender), and
the bad one, whose verdict comes after its batch was verified, costs the
sender the 10 points of an invalid tx while it stays connected."""

import struct
import time

import framework as fw
from p2p_bad_peer import RawPeer, frame, peer_by_ip, varint

COUNT = 20
INV_TX = 1


def tx_msg(raw_hex):
    b = bytes.fromhex(raw_hex)
    return frame("tx", varint(len(b)) + b)


def inv_hashes(payload):
    """The tx hashes of an inv payload (varint count, then type and hash)."""
    n, i, shift = 0, 0, 0
    while True:
        b = payload[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    out = set()
    for _ in range(n):
        if payload[i] == INV_TX:
            out.add(payload[i + 1:i + 33].hex())
        i += 33
    return out


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(a)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.cli("wallet", "import-dev")
    a.cli("wallet", "create", "carol")
    carol = a.cli("wallet", "address", "carol").stdout.strip()
    raws = [a.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--nonce", str(i),
                  "--raw").stdout.strip() for i in range(COUNT + 1)]
    bad = bytearray(bytes.fromhex(raws[COUNT]))
    bad[-10] ^= 0x04  # inside the signature
    txids = [a.rpc("decoderawtransaction", r)["txid"] for r in raws[:COUNT]]

    sender, watcher = RawPeer(a, 31), RawPeer(a, 32)
    sender.handshake(chain_id)
    watcher.handshake(chain_id)
    sender.send(b"".join(tx_msg(r) for r in raws[:COUNT]) + tx_msg(bad.hex()))

    def known(t):
        try:
            return a.rpc("gettransaction", t)["status"] in ("pending", "committed")
        except fw.RPCError:
            return False

    for t in txids:
        fw.wait_until(lambda t=t: known(t), 10, f"relayed tx {t[:16]} admitted")
    fw.wait_until(lambda: peer_by_ip(a, sender.ip)["score"] == 10, 10, "10 points for the bad signature")
    assert sender.alive(), "the sender stays connected (10 points)"

    announced = set()
    deadline = time.time() + 10
    while time.time() < deadline and not set(txids) <= announced:
        msg = watcher.read(deadline - time.time())
        if msg is None:
            break
        if msg[0] == "inv":
            announced |= inv_hashes(msg[1])
    assert set(txids) <= announced, f"announced to the other peer: {len(set(txids) & announced)} of {COUNT}"
    sender.close()
    watcher.close()


if __name__ == "__main__":
    fw.run(test)
