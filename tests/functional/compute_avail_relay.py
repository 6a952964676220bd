"""Output chunks through the network (docs/compute.md §15.4, docs/p2p.md §4):
the worker talks to a node that does not propose, so its chunks and its
job_chunks transactions reach the validator only by p2p (inv, getdata,
chunk; a transaction that overtakes its chunks is parked until they
arrive). The validator includes them, the job is verified and paid, and
both nodes serve the output."""

import os
import shutil

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 8, "upload_window": 8, "dispute_window": 4,
           "min_bond": UNIT, "samples_k": 2, "chunk_budget_bytes": 1 << 20, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    relay = fw.Node(1, tmpdir, network="local", extra_args=["-novalidator", f"-connect={fw.p2p_addr(node)}"])
    shutil.copy(os.path.join(node.datadir, "genesis.json"), os.path.join(relay.datadir, "genesis.json"))
    os.makedirs(os.path.join(relay.datadir, "wallet"), exist_ok=True)
    shutil.copy(os.path.join(node.datadir, "wallet", "w0.json"), os.path.join(relay.datadir, "wallet", "w0.json"))
    nodes.append(relay.start())
    worker = fw.Worker(relay, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    # 160 x 128 int32 = 80 KiB (over the blob limit) in 16x16 tiles: 80 tiles.
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "160", "--n", "128",
                   "--k", "32", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                   "--seed", "66" * 32, "--reward", "1", "--wait")
    job_id = res.stdout.split()[0]
    job, _ = fw.wait_job(node, job_id, ("paid",))
    fw.assert_eq(job["slots"][0]["uploaded_tiles"], 80, "uploaded through the relay")
    assert "job_chunks" in worker.tail(200), worker.tail(200)
    fw.wait_until(lambda: relay.rpc("getjob", job_id)["state"] == "paid", 30, "the relay agrees")
    for n in (node, relay):
        out = os.path.join(tmpdir, f"out{n.index}.bin")
        res = n.cli("job", "output", job_id, "-o", out)
        assert "from the chain (output chunks)" in res.stdout, res.stdout
        fw.assert_eq(n.rpc("listbanned"), [], "nobody banned")


if __name__ == "__main__":
    fw.run(test)
