"""The cost of checking is priced at submit and paid from the job's escrow,
not by the worker (docs/compute.md §6.4). An mlp-i8 job paying the least
reward (0.001 ASY) whose reveal costs far more gas than that: the submitter
escrows the reward and the checking fees; the worker's reveal fee comes
back to it from the check escrow, so the worker ends up with the reward
less only its commit fee, and the submitter pays the reveal. (Before, the
worker paid ~10x the reward for the reveal, or lost 1% of its bond by
refusing it.)"""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 4, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    h0 = node.height()
    w_before = node.rpc("getaccount", addr["w0"])["balance"]
    a_before = node.rpc("getaccount", addr["alice"])["balance"]
    reward = 10**6  # 0.001 ASY, the least
    # 1024-wide layers: a reveal reads all 2 MiB of weights once (W . r per
    # layer, compute.md §6.1a), which costs more than this job pays
    res = node.cli("job", "submit", "--from", "alice", "--kind", "mlp-i8", "--m", "64",
                   "--dims", "1024,1024,1024", "--tile-rows", "16", "--samples", "4", "--reward", "0.001",
                   "--wait")
    job_id = res.stdout.split()[0]
    job = node.rpc("getjob", job_id)
    fw.assert_eq(job["state"], "verified", "verified")
    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
    fw.assert_eq(job["state"], "paid", "paid")
    h1 = node.height()
    reveal_fee = fw.fees_paid(node, addr["w0"], h0 + 1, h1, kind="job_reveal")
    w_fees = fw.fees_paid(node, addr["w0"], h0 + 1, h1)
    a_fees = fw.fees_paid(node, addr["alice"], h0 + 1, h1)
    print(f"reveal fee {reveal_fee} base units for a reward of {reward}")
    assert reveal_fee > 5 * reward, "the check costs far more than the job pays"
    fw.assert_eq(node.rpc("getaccount", addr["w0"])["balance"], w_before + reward - (w_fees - reveal_fee),
                 "the worker keeps the reward less its commit fee: the reveal was paid back")
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], a_before - reward - a_fees - reveal_fee,
                 "the submitter paid for the check")
    fw.assert_eq(node.rpc("getworker", addr["w0"])["slashed_total"], 0, "never slashed")


if __name__ == "__main__":
    fw.run(test)
