"""Where a client's output comes from (docs/compute.md §13-§14): a job whose
output is over the worker's on-chain limit (64 KiB) is served by the worker
alone as a blob, and reaches the chain's nodes as output chunks
(docs/compute.md §15), so `job output` reads it from the node even once the
worker is stopped; a small job's output is put on chain as a blob
named by its output hash once the job is verified, so `job output` reads it
from the chain, and still checks it, after the worker process is gone."""

import hashlib
import os
import urllib.request

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2}
BLOB_OUTPUT_MAX = 64 * 1024  # WORK_BLOB_OUTPUT_MAX


def submit(node, m, n, k, seed):
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", str(m), "--n", str(n),
                   "--k", str(k), "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                   "--seed", seed, "--reward", "1", "--wait")
    return res.stdout.split()[0]


def output(node, tmpdir, job_id, name, check=True):
    path = os.path.join(tmpdir, name)
    return path, node.cli("job", "output", job_id, "-o", path, check=check)


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    endpoint = f"http://127.0.0.1:{worker.port}"

    # Large: 160 x 128 int32 = 80 KiB, over the limit; it never reaches the chain.
    big = submit(node, 160, 128, 64, "11" * 32)
    job, _ = fw.wait_job(node, big, ("paid",))
    fw.assert_eq(job["output_bytes"], 160 * 128 * 4, "large output size")
    assert job["output_bytes"] > BLOB_OUTPUT_MAX
    fw.assert_raises_rpc(-5, node.rpc, "getblob", job["output_hash"])
    assert "stays off chain" in worker.tail(50), worker.tail(50)
    path, res = output(node, tmpdir, big, "big.bin")
    assert "from the chain (output chunks)" in res.stdout, res.stdout  # docs/compute.md §15
    assert "full Freivalds test passed" in res.stdout, res.stdout
    with open(path, "rb") as f:
        fw.assert_eq(hashlib.sha256(f.read()).hexdigest(), job["output_hash"], "large output hash")
    got = node.cli_json("job", "output", big, "-o", path)
    fw.assert_eq((got["source"], got["checked"]), ("chain", True), "json source")

    # Small: 64 x 48 int32 = 12 KiB; on chain once the job is verified.
    small = submit(node, 64, 48, 80, "22" * 32)
    slot = node.rpc("getjob", small)["slots"][0]
    fw.wait_until(lambda: blob_present(node, slot["output_hash"]), 30, "the output's blob on chain")
    blob = node.rpc("getblob", slot["output_hash"])
    fw.assert_eq(blob["size"], 64 * 48 * 4, "blob size")
    fw.assert_eq(hashlib.sha256(bytes.fromhex(blob["data"])).hexdigest(), slot["output_hash"], "blob hash")

    # The worker and its output server go away; the chain still has the bytes.
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    try:
        urllib.request.urlopen(f"{endpoint}/job/{small}", timeout=5)
        raise AssertionError("the worker's output server still answers")
    except OSError:
        pass
    path, res = output(node, tmpdir, small, "small.bin")
    assert "from the chain" in res.stdout, res.stdout
    assert "Merkle root matches the commitment; full Freivalds test passed" in res.stdout, res.stdout
    with open(path, "rb") as f:
        fw.assert_eq(f.read(), bytes.fromhex(blob["data"]), "written output")
    got = node.cli_json("job", "output", small, "-o", path)
    fw.assert_eq((got["source"], "endpoint" in got), ("chain", False), "json source")

    # The large one is uploaded as chunks (docs/compute.md §15): it is still
    # had from the node without the worker.
    os.unlink(os.path.join(tmpdir, "big.bin"))
    path, res = output(node, tmpdir, big, "big.bin")
    assert "from the chain (output chunks)" in res.stdout, res.stdout
    assert os.path.exists(path)


def blob_present(node, output_hash):
    try:
        node.rpc("getblob", output_hash)
        return True
    except fw.RPCError:
        return False


if __name__ == "__main__":
    fw.run(test)
