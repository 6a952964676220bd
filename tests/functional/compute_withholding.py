"""The withholding worker (issue: "No data availability"; docs/compute.md
§15.5): it computes, commits and passes its spot-check, then never uploads
its output. The job never becomes verified; once the upload window closes
the worker loses its slash (the job's lock at the defaults), all of it burned (the submitter
gains nothing from a withheld upload), and at the deadline the submitter's
escrow comes back. Before the slash its output is only at the worker's HTTP
server, which `job output` still reads as its fallback."""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "upload_window": 15, "chunk_budget_bytes": 1 << 20, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100", "-withhold-output"])
    nodes.append(worker.start())
    fw.wait_until(lambda: node.rpc("listworkers"), 30, "the worker registered")
    bond = node.rpc("getworker", addr["w0"])["bond"]
    before = node.rpc("getaccount", addr["alice"])["balance"]

    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "64",
                   "--k", "32", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                   "--seed", "44" * 32, "--reward", "1", "--deadline", "45")
    job_id = res.stdout.split()[0]
    # Spot-checked, yet not verified: the output is nowhere on chain, only
    # at the worker's HTTP server (the optional fast path of job output).
    fw.wait_until(lambda: slot_state(node, job_id) == "verified", 30, "the slot passes its spot-check")
    job = node.rpc("getjob", job_id)
    fw.assert_eq((job["state"], job["slots"][0]["uploaded_tiles"]), ("committed", 0), "verified slot, no upload")
    fw.assert_raises_rpc(-5, node.rpc, "getjobchunk", job_id, 0, 0)
    res = node.cli("job", "output", job_id, "-o", f"{tmpdir}/w.bin")
    assert f"from worker http://127.0.0.1:{worker.port}" in res.stdout, res.stdout
    job, _ = fw.wait_job(node, job_id, ("refunded", "failed"))
    fw.assert_eq(job["verified_height"], None, "never verified")
    fw.assert_eq(job["excluded"], [addr["w0"]], "the withholder is excluded from the job")
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq(w["bond"], bond - UNIT, "the job's lock (its 1 ASY reward) slashed for the missed upload")
    after = node.rpc("getaccount", addr["alice"])["balance"]
    fees = before - after
    # refunded: alice lost only fees (the 1 ASY escrow came back) and got
    # no share of the slash: it was burned
    assert 0 < fees < UNIT // 100, (before, after)
    assert "job_chunks" not in worker.tail(400), worker.tail(400)


def slot_state(node, job_id):
    try:
        return node.rpc("getjob", job_id)["slots"][0]["state"]
    except fw.RPCError:
        return None


if __name__ == "__main__":
    fw.run(test)
