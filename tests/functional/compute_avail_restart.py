"""A block waiting for its output chunks survives kill -9 (docs/storage.md
§4, docs/compute.md §15.4). Node B, alone but for a scripted peer, is given
the chain up to the first block with a job_chunks transaction, and never
that block's chunks: the block waits (unavailable, not invalid). B is killed
with SIGKILL and started again with no peer at all, so nobody can give it
the block again; the chunks then arrive by submitjobchunk, and B connects
the block it kept, the same block as the validator's. A job_chunks
transaction that overtook its chunks is parked the same way: B takes it,
is killed, and after the restart and the chunks it is in B's mempool."""

import os
import shutil
import struct
import time

import framework as fw
from p2p_bad_peer import RawPeer, frame, varint, version

UNIT = 10**9
MAGIC_LOCAL = 0xC2B6B8F1  # docs/p2p.md: the local network's frames
COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "upload_window": 10, "chunk_budget_bytes": 1 << 20, "salt_window": 3}


def local(cmd, payload=b""):
    return frame(cmd, payload, magic=MAGIC_LOCAL)


def job_chunks_heights(node, job_id):
    """Heights of the blocks with a job_chunks transaction, in order."""
    return [h for h in range(1, node.height() + 1)
            if any(t["kind"] == "job_chunks" for t in node.rpc("getblock", h, 2)["txs"])]


def job_chunks(node, job_id):
    """Every chunk node holds for slot 0 of the job, as hex."""
    out, tile = [], 0
    while True:
        c = node.rpc("getjobchunk", job_id, 0, tile)
        out.append(c["chunk"])
        tile = c["next_tile"]
        if tile >= c["tiles"]:
            return out


def feed(b, a, chain_id, upto):
    """A scripted peer that claims height `upto` and answers B's getblocks
    with A's blocks up to it; it answers nothing else (no chunks)."""
    raw = {h: bytes.fromhex(a.rpc("getblock", h, 0)) for h in range(1, upto + 1)}
    p = RawPeer(b, 20)
    p.send(local("version", version(chain_id, best_height=upto)))
    deadline = time.time() + 60
    sent = set()
    while time.time() < deadline and len(sent) < upto:
        msg = p.read(deadline - time.time())
        if msg is None:
            break
        cmd, payload = msg
        if cmd == "version":
            p.send(local("verack"))
        elif cmd == "ping":
            p.send(local("pong", payload))
        elif cmd == "getblocks":
            start, count = struct.unpack_from("<QI", payload)
            for h in range(start, min(upto, start + count - 1) + 1):
                p.send(local("block", struct.pack("<Q", h) + varint(len(raw[h])) + raw[h]))
                sent.add(h)
    assert len(sent) == upto, f"B asked for {sorted(sent)} of 1..{upto}"
    return p


def this_run(node):
    """node's debug.log since its latest start."""
    with open(node.log_path(), errors="replace") as f:
        return f.read().rsplit(" starting: network", 1)[-1]


def start_node(tmpdir, a, index):
    """A non-validator on a's chain with no peer (-connect to nobody)."""
    n = fw.Node(index, tmpdir, network="local", extra_args=["-novalidator"])
    if not os.path.exists(os.path.join(n.datadir, "genesis.json")):
        shutil.copy(os.path.join(a.datadir, "genesis.json"), os.path.join(n.datadir, "genesis.json"))
    return n.start()


def start_b(tmpdir, a):
    return start_node(tmpdir, a, 1)


def job_chunks_tx(node, height):
    """(txid, full encoding as hex) of the block's job_chunks transaction:
    the block's encoding holds varint(ntx) and then each transaction as
    varint(size) || bytes (core/block.c), found by the sizes getblock gives."""
    raw = bytes.fromhex(node.rpc("getblock", height, 0))
    txs = node.rpc("getblock", height, 2)["txs"]
    for pos in range(len(raw)):
        at, found = pos + len(varint(len(txs))), []
        if raw[pos:at] != varint(len(txs)):
            continue
        for t in txs:
            head = varint(t["size"])
            if raw[at:at + len(head)] != head:
                break
            found.append(raw[at + len(head):at + len(head) + t["size"]])
            at += len(head) + t["size"]
        if len(found) == len(txs):
            i = [t["kind"] for t in txs].index("job_chunks")
            return txs[i]["txid"], found[i].hex()
    raise AssertionError(f"no transactions found in block {height}'s encoding")


def test(tmpdir, nodes):
    a, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(a, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    res = a.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "128", "--n", "128",
                "--k", "32", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                "--seed", "44" * 32, "--reward", "1", "--wait")
    job_id = res.stdout.split()[0]
    fw.wait_job(a, job_id, ("paid",))
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    x = job_chunks_heights(a, job_id)[0]
    chunks = job_chunks(a, job_id)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])

    # 1. B takes blocks 1..x+1 from the scripted peer (x+1 carries x's
    #    commit, without which x would not join); block x waits.
    b = start_b(tmpdir, a)
    nodes.append(b)
    p = feed(b, a, chain_id, x + 1)
    fw.wait_until(lambda: f"avail: block {x} waits for" in b.tail(200), 30, "block x to wait for chunks")
    fw.assert_eq(b.height(), x - 1, "B's height while block x waits")
    p.close()

    # 2. kill -9, and a restart with no peer: only the store can give x back.
    b.kill9()
    b = start_b(tmpdir, a)
    nodes.append(b)
    fw.assert_eq(b.height(), x - 1, "B's height after the restart")
    fw.assert_eq(b.rpc("getconnectioncount"), 0, "B has no peer")

    # 3. The chunks arrive by RPC: the kept block connects.
    for c in chunks:
        b.rpc("submitjobchunk", c)
    fw.wait_until(lambda: b.height() >= x, 30, "the kept block to connect")
    fw.assert_eq(b.rpc("getblockhash", x), a.rpc("getblockhash", x), "the validator's block x")
    assert "a block kept from before the restart waits" in this_run(b), this_run(b)
    assert f"avail: chunks of block {x} arrived; connecting it" in this_run(b), this_run(b)

    # 4. The record is gone once the block connected: another kill -9 and
    #    restart takes up nothing.
    b.kill9()
    b = start_b(tmpdir, a)
    nodes.append(b)
    fw.assert_eq(b.height(), x, "B's height after the second restart")
    assert "kept from before the restart" not in this_run(b), this_run(b)
    fw.assert_eq(b.stop(), 0, "B's exit status on SIGTERM")

    # 5. A job_chunks transaction that came before its chunks is parked; it
    #    too is kept: C, at height x - 1, takes block x's job_chunks
    #    transaction (refused for now: no chunks), is killed and restarted,
    #    and once the chunks arrive the transaction is in its mempool.
    c = start_node(tmpdir, a, 2)
    nodes.append(c)
    feed(c, a, chain_id, x).close()  # x carries x-1's commit
    fw.wait_until(lambda: c.height() == x - 1, 30, "C at height x - 1")
    # block x, checked while it waits for its commit, is staged in C's state
    # tree (in the same turn that connected x - 1); getproof still proves
    # against the committed tip
    proof = c.rpc("getproof", addr["alice"])
    fw.assert_eq(proof["height"], x - 1, "getproof's height")
    fw.assert_eq(proof["state_root"], c.rpc("getblock", c.rpc("getblockhash", x - 1))["state_root"],
                 "getproof's root is the tip's, not a staged block's")
    txid, tx_hex = job_chunks_tx(a, x)
    try:
        c.rpc("sendrawtransaction", tx_hex)
        raise AssertionError("C took a job_chunks transaction whose chunks it does not hold")
    except fw.RPCError as e:
        assert "not held by this node" in str(e), e
    c.kill9()
    c = start_node(tmpdir, a, 2)
    nodes.append(c)
    assert "1 job_chunks transaction(s) kept from before the restart" in this_run(c), this_run(c)
    fw.assert_eq(c.rpc("getrawmempool"), [], "C's mempool before the chunks")
    for chunk in chunks:
        c.rpc("submitjobchunk", chunk)
    fw.wait_until(lambda: txid in c.rpc("getrawmempool"), 30, "the kept transaction in C's mempool")


if __name__ == "__main__":
    fw.run(test)
