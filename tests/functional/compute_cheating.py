"""Cheating workers on a local chain.

1. A worker that corrupts exactly one tile of 64 passes a 2-tile spot check
   with probability 62/64; the client's `job output` check finds the tile,
   `job dispute` proves it on chain, the worker is slashed (1% of the job's
   lock) and the escrow goes back to the submitter.
2. A worker that corrupts each tile with probability 0.3 is caught by a
   k = 2 spot check on 1 - 0.7^2 = 51% of jobs: over 40 jobs the slash count
   must fall inside the two-sided 99.9% binomial interval."""

import math

import framework as fw

UNIT = 10**9
K = 2
JOBS = 40
FRACTION = 0.3
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": K, "slash_bps": 100, "slash_submitter_bps": 0, "max_jobs_per_worker": 64,
           "salt_window": 3}


def binomial_interval(n, p, mass):
    """Smallest lo and largest hi with P(X < lo) <= (1-mass)/2 and P(X > hi) <= (1-mass)/2."""
    pmf = [math.comb(n, i) * p**i * (1 - p)**(n - i) for i in range(n + 1)]
    tail = (1 - mass) / 2
    lo, acc = 0, 0.0
    while acc + pmf[lo] <= tail:
        acc += pmf[lo]
        lo += 1
    hi, acc = n, 0.0
    while acc + pmf[hi] <= tail:
        acc += pmf[hi]
        hi -= 1
    return lo, hi


def single_missed_tile(node, addr):
    worker = fw.Worker(node, "w1", 1, ["-bond=100", "-corrupt-tiles=1"])
    worker.start()
    try:
        for attempt in range(5):
            h0 = node.height()
            alice_before = node.rpc("getaccount", addr["alice"])["balance"]
            res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "64",
                           "--k", "32", "--tile-rows", "8", "--tile-cols", "8", "--samples", str(K),
                           "--reward", "3", "--deadline", "50", "--wait", check=False)
            job_id = res.stdout.split()[0]
            job = node.rpc("getjob", job_id)
            if job["state"] != "verified":
                # The spot check drew the bad tile (2 in 64): slashed at reveal.
                assert addr["w1"] in job["excluded"], job
                continue
            out = node.cli("job", "output", job_id, "-o", "/dev/null", check=False)
            fw.assert_eq(out.returncode, 1, "job output refuses a wrong output")
            assert "WRONG at tile" in out.stderr, out.stderr
            slashed_before = node.rpc("getworker", addr["w1"])["slashed_total"]
            res = node.cli("job", "dispute", job_id, "--from", "alice", "--wait")
            assert "is wrong: 1 worker(s) with this root slashed" in res.stdout, res.stdout
            job = node.rpc("getjob", job_id)
            fw.assert_eq(job["state"], "failed", "state after a successful dispute")
            fw.assert_eq(job["escrow"], 0, "escrow after dispute")
            fw.assert_eq(job["slots"][0]["state"], "failed", "slot after dispute")
            w = node.rpc("getworker", addr["w1"])
            fw.assert_eq(w["slashed_total"], slashed_before + 3 * UNIT // 100, "1% of the job's lock (its reward)")
            # The reward came back, and the checking budget less the
            # reveal it paid for: alice is down her fees and that reveal.
            h1 = node.height()
            fees = fw.fees_paid(node, addr["alice"], h0 + 1, h1)
            reveal_fee = fw.fees_paid(node, addr["w1"], h0 + 1, h1, kind="job_reveal")
            fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], alice_before - fees - reveal_fee,
                         "escrow refunded")
            # Disputing a correct tile of another job would forfeit the dispute bond; not here.
            break
        else:
            raise AssertionError("the sample caught the single bad tile five times running")
        node.cli("worker", "unbond", "--from", "w1", "--wait")
        fw.assert_eq(node.rpc("getworker", addr["w1"])["status"], "unbonding", "w1 unbonding")
    finally:
        worker.stop()


def fraction_slash_rate(node, addr):
    worker = fw.Worker(node, "w0", 0, ["-bond=100", f"-corrupt-fraction={FRACTION}"])
    worker.start()
    ids = []
    for i in range(JOBS):
        res = node.cli("--json", "job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32",
                       "--n", "32", "--k", "32", "--tile-rows", "8", "--tile-cols", "8", "--samples", str(K),
                       "--reward", "1", "--deadline", "30")
        txid = fw.json.loads(res.stdout)["txid"]
        ids.append(txid)
    job_ids = []
    for txid in ids:
        deadline = fw.time.time() + 60
        while True:
            tx = node.rpc("gettransaction", txid)
            if tx["status"] == "committed":
                assert tx["result"]["ok"], tx
                job_ids.append(tx["result"]["job_id"])
                break
            assert fw.time.time() < deadline, "job_submit not committed"
            fw.time.sleep(0.1)
    slashed = 0
    for job_id in job_ids:
        job, _ = fw.wait_job(node, job_id, ("paid", "refunded", "failed"), timeout=180)
        caught = addr["w0"] in job["excluded"]
        slashed += caught
        # Caught: redrawn without the cheater, nobody else eligible, refunded at
        # the deadline. Not caught: paid after the dispute window.
        fw.assert_eq(job["state"], "refunded" if caught else "paid", f"job {job_id[:16]}")
    p = 1 - (1 - FRACTION)**K
    lo, hi = binomial_interval(JOBS, p, 0.999)
    print(f"slashed {slashed} of {JOBS} jobs; expected {JOBS * p:.1f}, 99.9% interval [{lo}, {hi}]")
    assert lo <= slashed <= hi, (slashed, lo, hi)
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq(w["jobs_failed"], slashed, "jobs_failed counts the slashes")
    fw.assert_eq(w["jobs_done"], JOBS - slashed, "jobs_done counts the payouts")
    worker.stop()


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)
    single_missed_tile(node, addr)
    fraction_slash_rate(node, addr)
    # The test-only flags are refused off dev and local networks; here they ran.


if __name__ == "__main__":
    fw.run(test)
