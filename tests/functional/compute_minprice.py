"""A worker's price floor (assay-worker -minprice, compute.md §13): a job
that pays a slot less per 10^9 operations than the floor is not taken (a
log line says why, no job_commit is sent, and the lapsed commit costs the
worker missed_deadline_slash_bps of the job's lock), while a job that pays
enough is done and paid."""

import time

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 6, "reveal_window": 5, "upload_window": 5, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 4}
SHAPE = ["--kind", "matmul-i8", "--m", "64", "--n", "48", "--k", "80", "--tile-rows", "16", "--tile-cols", "16",
         "--samples", "4", "--seed", "cd" * 32]
OPS = 2 * 64 * 48 * 80  # a multiply-add is two
MIN_PRICE = 100000      # ASY per 10^9 operations: this job must pay a slot 49.152 ASY


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100", f"-minprice={MIN_PRICE}"])
    nodes.append(worker.start())
    assert MIN_PRICE * OPS / 10**9 > 5 and MIN_PRICE * OPS / 10**9 < 50

    # 5 ASY: under the floor. Assigned, not taken; the commit lapses.
    cheap = node.cli("job", "submit", "--from", "alice", *SHAPE, "--reward", "5").stdout.split()[0]
    deadline = time.time() + 60
    while True:  # the slot fails when its commit window closes, and w0 is excluded from it
        try:
            job = node.rpc("getjob", cheap)
        except fw.RPCError:  # not committed yet
            job = {}
        if addr["w0"] in job.get("excluded", []):
            break
        assert time.time() < deadline, f"the job was not left to lapse: {job}"
        time.sleep(0.2)
    assert all(s.get("commit_height") is None for s in job["slots"]), job
    with open(worker.logpath) as f:
        out = f.read()
    assert f"job {cheap[:16]}: pays a slot 5.000000000 ASY for 0.000492 Gop, below -minprice=" in out, out[-3000:]
    fw.assert_eq(node.rpc("getworker", addr["w0"])["slashed_total"], 5 * UNIT // 100,
                 "the lapsed commit's slash: 1% of the lock (the reward)")
    assert fw.fees_paid(node, addr["w0"], 1, node.height(), kind="job_commit") == 0, "a commit was sent"

    # 50 ASY: above it. Done and paid.
    res = node.cli("job", "submit", "--from", "alice", *SHAPE, "--reward", "50", "--wait")
    paid = res.stdout.split()[0]
    job, _ = fw.wait_job(node, paid, ("paid", "failed", "refunded"))
    fw.assert_eq(job["state"], "paid", "the job that pays enough")
    fw.assert_eq(job["slots"][0]["worker"], addr["w0"], "its worker")


if __name__ == "__main__":
    fw.run(test)
