"""A worker that serves an output which does not match the root it opened on
chain (docs/compute.md §6.2): `assay-cli job output` and `assay-cli job
dispute` refuse it with a clear message and exit 1, write nothing and do not
crash (the output check once freed the fetched bytes twice here). The
worker's real output, committed and opened, was correct, so the job pays."""

import os

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100", "-serve-wrong-output"])
    nodes.append(worker.start())
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32", "--n", "32",
                   "--k", "16", "--tile-rows", "8", "--tile-cols", "8", "--reward", "2", "--wait")
    job_id = res.stdout.split()[0]
    job = node.rpc("getjob", job_id)
    fw.assert_eq(job["state"], "verified", "verified on its spot check")

    out = os.path.join(tmpdir, "out.bin")
    # read from the worker (--from-worker): the node's chunks are the right output
    for args in (("job", "output", job_id, "-o", out, "--from-worker"),
                 ("job", "dispute", job_id, "--from", "alice", "--from-worker")):
        res = node.cli(*args, check=False)
        fw.assert_eq(res.returncode, 1, f"{args[1]} exit status (not a crash)")
        assert "does not match its commitment" in res.stderr, res.stderr
        assert "Merkle root does not match the root the worker opened" in res.stderr, res.stderr
        assert "double free" not in res.stderr and "AddressSanitizer" not in res.stderr, res.stderr
    assert not os.path.exists(out), "nothing written"
    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
    fw.assert_eq(job["state"], "paid", "the committed output was right")


if __name__ == "__main__":
    fw.run(test)
