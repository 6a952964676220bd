"""An honest worker on a local chain: a matmul-i8 job goes open -> assigned
-> committed -> verified -> paid with increasing heights, the worker is paid
exactly the reward less the fees it spent (its reveal's fee paid back from
the job's check escrow), the submitter pays the reward, its fees and the
reveal, `job submit --wait` opens the salt so the challenge comes
challenge_delay blocks after the commit, and the client's `job output` check
passes and writes the output."""

import hashlib
import os

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 4}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq(w["bond"], 100 * UNIT, "bond")
    fw.assert_eq(w["endpoint"], f"http://127.0.0.1:{worker.port}", "endpoint")

    h0 = node.height()
    worker_before = node.rpc("getaccount", addr["w0"])["balance"]
    alice_before = node.rpc("getaccount", addr["alice"])["balance"]
    seed = "ab" * 32
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "48",
                   "--k", "80", "--tile-rows", "16", "--tile-cols", "16", "--samples", "4",
                   "--seed", seed, "--reward", "5", "--wait")
    job_id = res.stdout.split()[0]
    assert "state:      verified" in res.stdout, res.stdout
    job, seen = fw.wait_job(node, job_id, ("paid", "failed", "refunded"))
    fw.assert_eq(job["state"], "paid", "final state")
    order = ["open", "assigned", "committed", "verified", "paid"]
    assert [s for s in order if s in seen] == seen, f"states out of order: {seen}"

    slot = job["slots"][0]
    fw.assert_eq(slot["worker"], addr["w0"], "worker")
    fw.assert_eq(slot["state"], "verified", "slot state")
    heights = [job["submit_height"], slot["assigned_height"], slot["commit_height"],
               slot["challenge_height"], slot["reveal_height"]]
    assert heights == sorted(heights) and len(set(heights)) == 5, heights
    # The challenge is fixed challenge_delay (2) blocks after the sealing
    # commit: `job submit --wait` opened the salt in between.
    fw.assert_eq(job["sealed_height"], slot["commit_height"], "sealed by the only commit")
    fw.assert_eq(slot["challenge_height"], job["sealed_height"] + 2, "challenge at sealed + challenge_delay")
    assert job["salt"] is not None, job
    assert slot["root"] is not None and slot["commitment"] != slot["root"], slot
    # verified once the whole output is uploaded, the block after the reveal at the earliest
    assert job["verified_height"] > slot["reveal_height"], (job["verified_height"], slot["reveal_height"])
    fw.assert_eq(slot["uploaded_tiles"], job["tiles"], "whole output uploaded")
    fw.assert_eq(job["payout_height"], job["verified_height"] + COMPUTE["dispute_window"], "payout height")
    fw.assert_eq(job["escrow"], 0, "escrow after payout")
    fw.assert_eq(job["tiles"], 4 * 3, "tiles")

    # Exact accounting: the worker gains the reward less its own fees, its
    # reveal's fee paid back from the job's check escrow; the submitter
    # loses the reward, its fees and that reveal fee (the validator earns fees).
    h1 = node.height()
    worker_fees = fw.fees_paid(node, addr["w0"], h0 + 1, h1)
    reveal_fee = fw.fees_paid(node, addr["w0"], h0 + 1, h1, kind="job_reveal")
    assert worker_fees > reveal_fee > 0
    fw.assert_eq(node.rpc("getaccount", addr["w0"])["balance"], worker_before + 5 * UNIT - worker_fees + reveal_fee,
                 "worker paid reward - fees + its reveal fee")
    alice_fees = fw.fees_paid(node, addr["alice"], h0 + 1, h1)
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], alice_before - 5 * UNIT - alice_fees - reveal_fee,
                 "submitter paid reward + fees + the reveal")
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq((w["jobs_done"], w["jobs_in_flight"], w["slashed_total"]), (1, 0, 0), "worker counters")

    # The human status names every stage with its height.
    status = node.cli("job", "status", job_id).stdout
    for line in ("state:      paid", f"assigned    height {slot['assigned_height']}",
                 f"committed   height {slot['commit_height']}", f"verified    height {slot['reveal_height']}",
                 f"paid:       height {job['payout_height']}"):
        assert line in status, (line, status)

    # The client fetches the output from the worker and checks it.
    out = os.path.join(tmpdir, "out.bin")
    res = node.cli("job", "output", job_id, "-o", out)
    assert "full Freivalds test passed" in res.stdout, res.stdout
    with open(out, "rb") as f:
        data = f.read()
    fw.assert_eq(len(data), 64 * 48 * 4, "output size")
    assert hashlib.sha256(data).hexdigest() in res.stdout, res.stdout

    # listjobs shows live jobs only, filtered; the paid job has left it.
    fw.assert_eq(node.rpc("listjobs", None, None, addr["w0"]), [], "no live jobs")
    assert "GOPS" in worker.tail(50)
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly on SIGTERM")


if __name__ == "__main__":
    fw.run(test)
