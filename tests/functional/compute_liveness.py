"""Liveness on a local chain: a job submitted while no worker is registered
stays open and is refunded after its deadline; a job whose assigned worker
is offline is taken from it when the commit window passes (a small slash of
its lock, burned), reassigned challenge_delay blocks later to another
worker, and completes and pays that one."""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 4, "upload_window": 4, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 2, "missed_deadline_slash_bps": 100, "salt_window": 2}


def submit(node, deadline):
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32", "--n", "32",
                   "--k", "16", "--tile-rows", "8", "--tile-cols", "8", "--reward", "2",
                   "--deadline", str(deadline))
    job_id, txid = res.stdout.split()[0], res.stdout.split()[2]
    fw.wait_job(node, job_id, ("open", "assigned", "refunded"), timeout=30, missing_ok=True)
    return job_id


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)

    # No workers at all: open until the deadline, then refunded in full.
    h0 = node.height()
    alice_before = node.rpc("getaccount", addr["alice"])["balance"]
    job_id = submit(node, 28)
    job, seen = fw.wait_job(node, job_id, ("refunded", "paid", "failed"), timeout=60)
    fw.assert_eq(job["state"], "refunded", "expired job")
    fw.assert_eq(seen, ["open", "refunded"] if seen[0] == "open" else seen, "never assigned")
    fw.assert_eq(job["slots"][0]["state"], "empty", "no worker ever drawn")
    fw.assert_eq(job["escrow"], 0, "escrow released")
    assert node.height() > job["deadline_height"]
    fees = fw.fees_paid(node, addr["alice"], h0 + 1, node.height())
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], alice_before - fees, "reward refunded")
    status = node.cli("job", "status", job_id).stdout
    assert f"refunded:   height {job['deadline_height'] + 1}" in status, status

    # Two registered workers, both offline when the job is assigned.
    workers = {name: fw.Worker(node, name, i, ["-bond=100"]) for i, name in enumerate(("w0", "w1"))}
    for w in workers.values():
        w.start()
        w.stop()
    job_id = submit(node, 60)
    job, _ = fw.wait_job(node, job_id, ("assigned",))
    first = job["slots"][0]["worker"]
    assigned_at = job["slots"][0]["assigned_height"]
    offline = "w0" if first == addr["w0"] else "w1"
    online = "w1" if offline == "w0" else "w0"
    nodes.append(workers[online].start())

    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=90)
    fw.assert_eq(job["state"], "paid", "reassigned job completes")
    fw.assert_eq(job["excluded"], [addr[offline]], "the offline worker is excluded")
    slot = job["slots"][0]
    fw.assert_eq(slot["worker"], addr[online], "reassigned to the online worker")
    fw.assert_eq(slot["assigned_height"], assigned_at + COMPUTE["commit_window"] + 1 + 2,
                 "redrawn challenge_delay blocks after the first block past the commit window")
    w = node.rpc("getworker", addr[offline])
    fw.assert_eq(w["slashed_total"], 2 * UNIT // 100, "missed-commit slash (1% of the job's lock, its reward)")
    fw.assert_eq((w["jobs_failed"], w["jobs_in_flight"]), (1, 0), "offline worker counters")
    w = node.rpc("getworker", addr[online])
    fw.assert_eq((w["jobs_done"], w["slashed_total"]), (1, 0), "online worker paid")


if __name__ == "__main__":
    fw.run(test)
