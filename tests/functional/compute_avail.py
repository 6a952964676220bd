"""Output availability (docs/compute.md §15): an honest worker uploads its
whole output as chunks after its root is on chain; the job is verified only
then; `assay-cli job output` reads the output from the node's chunks after
the worker process is gone; a follower connected by p2p receives the chunks
and agrees on the chain."""

import hashlib
import os
import shutil

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "upload_window": 10, "chunk_budget_bytes": 1 << 20, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    # A follower from the start: it takes the chunks as they are gossiped.
    follower = start_follower(tmpdir, nodes, node, 1)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    # 256 x 256 int32 = 256 KiB in 16x16 tiles of 1 KiB: several chunks.
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "256", "--n", "256",
                   "--k", "64", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                   "--seed", "33" * 32, "--reward", "1", "--wait")
    job_id = res.stdout.split()[0]
    job = node.rpc("getjob", job_id)
    fw.assert_eq(job["slots"][0]["uploaded_tiles"], 256, "every tile uploaded before verification")
    assert "job_chunks" in worker.tail(200), worker.tail(200)
    first = node.rpc("getjobchunk", job_id, 0, 0)
    fw.assert_eq(first["first_tile"], 0, "first chunk")
    assert first["next_tile"] > 0

    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    path = os.path.join(tmpdir, "out.bin")
    res = node.cli("job", "output", job_id, "-o", path)
    assert "from the chain (output chunks)" in res.stdout, res.stdout
    assert "full Freivalds test passed" in res.stdout, res.stdout
    with open(path, "rb") as f:
        produced = f.read()
    fw.assert_eq(len(produced), 256 * 256 * 4, "whole output")
    assert hashlib.sha256(produced).hexdigest() in res.stdout, res.stdout

    # A late follower syncs blocks whose chunks were gossiped before it came:
    # each such block waits (unavailable, not invalid) until it has fetched
    # them from its peer, then connects.
    late = start_follower(tmpdir, nodes, node, 2)
    for f in (follower, late):
        fw.wait_until(lambda: f.rpc("getblockcount") >= node.rpc("getblockcount") - 1, 40, "follower synced")
        h = f.rpc("getblockcount")
        fw.assert_eq(f.rpc("getblockhash", h), node.rpc("getblockhash", h), "same chain")
        fw.assert_eq(f.rpc("getjob", job_id)["state"], node.rpc("getjob", job_id)["state"], "same job state")
        fw.assert_eq(f.rpc("getjobchunk", job_id, 0, 0)["hash"], first["hash"], "the follower holds the chunk")
        res = f.cli("job", "output", job_id, "-o", path + f.name)
        assert "from the chain (output chunks)" in res.stdout, res.stdout
        with open(path + f.name, "rb") as g:
            fw.assert_eq(g.read(), produced, "the same output from the follower")
    log = late.tail(100000)
    assert "chunk(s)" in log and "arrived; connecting it" in log, log
    for f in (node, follower, late):
        fw.assert_eq(f.rpc("listbanned"), [], "nobody banned for a block whose chunks were not there yet")


def start_follower(tmpdir, nodes, node, index):
    f = fw.Node(index, tmpdir, network="local", extra_args=["-novalidator", f"-connect={fw.p2p_addr(node)}"])
    shutil.copy(os.path.join(node.datadir, "genesis.json"), os.path.join(f.datadir, "genesis.json"))
    nodes.append(f.start())
    return f


if __name__ == "__main__":
    fw.run(test)
