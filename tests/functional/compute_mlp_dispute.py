"""A wrong mlp-i8 tile that the spot check missed is proven by a dispute
(docs/compute.md §6.1a, §6.3). The worker corrupts one output byte of one
tile of 64 (its pre-activations stay honest, so its leaves bind the honest
digests) and passes a 2-tile check with probability 62/64. `job output`
finds the tile from the chain's chunks, whose leaf bytes carry each tile's
pre-activation digest, and from the worker's server, whose output is
checked against the root with the client's recomputed digests; `job
dispute` sends the tile with its digest from the chunks, the chain
recomputes it, and the worker is slashed."""

import framework as fw

UNIT = 10**9
K = 2
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": K, "slash_bps": 100, "slash_submitter_bps": 0, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100", "-corrupt-tiles=1"])
    nodes.append(worker.start())
    for attempt in range(5):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "mlp-i8", "--m", "64", "--dims", "24,32,10",
                       "--tile-rows", "1", "--samples", str(K), "--reward", "3", "--deadline", "50", "--wait",
                       check=False)
        job_id = res.stdout.split()[0]
        job = node.rpc("getjob", job_id)
        if job["state"] != "verified":
            # the spot check drew the bad tile (2 in 64): slashed at reveal by Freivalds
            assert addr["w0"] in job["excluded"], job
            continue
        for extra in ((), ("--from-worker",)):
            out = node.cli("job", "output", job_id, "-o", "/dev/null", *extra, check=False)
            fw.assert_eq(out.returncode, 1, f"job output {extra} refuses a wrong output")
            assert "WRONG at tile" in out.stderr, out.stderr
        slashed_before = node.rpc("getworker", addr["w0"])["slashed_total"]
        res = node.cli("job", "dispute", job_id, "--from", "alice", "--wait")
        assert "is wrong: 1 worker(s) with this root slashed" in res.stdout, res.stdout
        job = node.rpc("getjob", job_id)
        fw.assert_eq((job["state"], job["slots"][0]["state"]), ("failed", "failed"), "after the dispute")
        w = node.rpc("getworker", addr["w0"])
        fw.assert_eq(w["slashed_total"], slashed_before + 3 * UNIT // 100, "1% of the job's lock (its reward)")
        break
    else:
        raise AssertionError("the sample caught the single bad tile five times running")


if __name__ == "__main__":
    fw.run(test)
