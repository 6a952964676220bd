"""A root proven wrong fails and slashes every slot that committed it (docs/compute.md
§6.3). Two workers with the same test corruption (one tile, chosen from the
job id alone) compute the same wrong output and commit the same root in an
r = 2 job; a 2-tile spot check of 64 usually misses the tile, the job is
verified, the client's full check finds it, and one single-party dispute
against the first slot slashes both workers: nobody is paid, the escrow
goes back. (Before, the second slot kept the whole reward.)"""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3, "slash_submitter_bps": 0}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)
    for i, name in enumerate(("w0", "w1")):
        nodes.append(fw.Worker(node, name, i, ["-bond=100", "-corrupt-tiles=1"]).start())
    for attempt in range(5):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "64",
                       "--k", "32", "--tile-rows", "8", "--tile-cols", "8", "--samples", "2",
                       "--redundancy", "2", "--reward", "4", "--deadline", "80", "--wait", check=False)
        job_id = res.stdout.split()[0]
        job = node.rpc("getjob", job_id)
        if job["state"] == "verified":
            break
        print("a spot check drew the bad tile; again")  # 1 - (62/64 * 61/63)^2 of the time
    else:
        raise AssertionError("the spot checks caught the tile five times running")
    roots = {s["root"] for s in job["slots"]}
    fw.assert_eq(len(roots), 1, "both slots opened the same root")
    before = {n: node.rpc("getworker", addr[n]) for n in ("w0", "w1")}
    res = node.cli("--json", "job", "dispute", job_id, "--from", "alice", "--slot", "0", "--wait")
    out = fw.json.loads(res.stdout)
    fw.assert_eq(out["parties"], 1, "a single-party dispute of slot 0")
    assert "2 worker(s) with this root slashed" in out["result"], out
    job = node.rpc("getjob", job_id)
    fw.assert_eq(job["state"], "failed", "no verified slot left: the job fails")
    fw.assert_eq([s["state"] for s in job["slots"]], ["failed", "failed"], "both slots failed")
    for n in ("w0", "w1"):
        w = node.rpc("getworker", addr[n])
        fw.assert_eq(w["slashed_total"] - before[n]["slashed_total"], 4 * UNIT, f"{n} lost its lock")
        fw.assert_eq(w["jobs_done"], before[n]["jobs_done"], f"{n} was not paid")
    fw.assert_eq(job["escrow"], 0, "escrow returned")


if __name__ == "__main__":
    fw.run(test)
