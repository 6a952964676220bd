"""Uploads in flight through the mempool (docs/compute.md §15, "Running a
worker"): one worker uploads the outputs of two jobs, 4 MiB each, while a
block takes at most chunk_budget_bytes (1 MiB) of chunks, so its job_chunks
transactions queue up in the mempool behind each other (one sender, nonces
in order) and the worker keeps up to two per job in flight. After each
block the mempool drops what the block included and keeps the rest, which
mempool_on_block judges again against the new state (an upload whose run
starts past the chain's uploaded_tiles stays). Every job_chunks transaction
the worker sent is committed, none is sent twice and each job's runs follow
each other; the mempool ends empty and both jobs are paid with every tile
uploaded."""

import re
import time

import framework as fw

UNIT = 10**9
MIB = 1 << 20
TILES = 1024  # 1024 x 1024 int32 = 4 MiB in 32x32 tiles of 4 KiB
COMPUTE = {"commit_window": 10, "reveal_window": 6, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "upload_window": 16, "chunk_budget_bytes": MIB, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE, blocktime=300)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    jobs = []
    for seed in ("55", "66"):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "1024", "--n", "1024",
                       "--k", "32", "--tile-rows", "32", "--tile-cols", "32", "--samples", "2",
                       "--seed", seed * 32, "--reward", "1")
        jobs.append(res.stdout.split()[0])
    # The mempool, sampled while the jobs run: what was in flight at once.
    snapshots, deadline = [], time.time() + 180
    while not all(_exists(node, j) and node.rpc("getjob", j)["state"] == "paid" for j in jobs):
        assert time.time() < deadline, [node.rpc("getjob", j) for j in jobs if _exists(node, j)]
        snapshots.append((node.height(), set(node.rpc("getrawmempool"))))
        time.sleep(0.02)
    for j in jobs:
        fw.assert_eq(node.rpc("getjob", j)["slots"][0]["uploaded_tiles"], TILES, f"every tile of {j} uploaded")

    log = worker.tail(100000)
    assert "sending again" not in log and "left the mempool" not in log, log
    sent = re.findall(r"job ([0-9a-f]{16}): job_chunks ([0-9a-f]{64}): tiles (\d+)\.\.(\d+) of (\d+)", log)
    height = {}
    for j in jobs:
        # Runs that follow each other from tile 0 to the last, none twice:
        # no transaction was cut from the mempool and sent again.
        want = 0
        for job, txid, first, last, total in sent:
            if j.startswith(job):
                fw.assert_eq(int(first), want, f"first tile of {txid}")
                want = int(last) + 1
        fw.assert_eq(want, TILES, f"the runs cover {j}'s output")
    for _, txid, _, _, _ in sent:
        tx = node.rpc("gettransaction", txid)
        assert tx["status"] == "committed" and tx["result"]["ok"], tx
        height[txid] = tx["height"]
    # Some block took one job_chunks transaction while another of them was
    # in the mempool, and that one stayed there after the block.
    kept = [(t, u) for t in height for u in height if height[u] > height[t] and
            any(t in m and u in m for _, m in snapshots) and
            any(h == height[t] and u in m and t not in m for h, m in snapshots)]
    assert kept, "no job_chunks transaction was seen kept in the mempool after a block took another"
    # ... among them two of one job: its second run, sent while the first
    # was still in flight, starts past the uploaded_tiles of the state the
    # mempool admitted it in, and is still admissible after the first's block.
    job_of = {txid: job for job, txid, _, _, _ in sent}
    assert any(job_of[t] == job_of[u] for t, u in kept), ("no upload of one job pipelined", kept)
    fw.assert_eq(node.rpc("getrawmempool"), [], "the mempool after the uploads")
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")


def _exists(node, job_id):
    try:
        node.rpc("getjob", job_id)
        return True
    except fw.RPCError:
        return False


if __name__ == "__main__":
    fw.run(test)
