"""Redundancy r = 2 on a local chain with two honest workers and one that
corrupts a single tile of 64 (which a 2-tile spot check usually misses).
Whenever the cheater holds a slot, its root differs from the honest one;
`job dispute` finds the first differing tile and proves it with both
workers' leaves; the chain checks the tile and slashes the cheater alone,
and the job is paid to the honest worker."""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": 2, "slash_bps": 1000, "slash_submitter_bps": 5000, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "h0", "h1", "cheat"], COMPUTE)
    for i, name in enumerate(("h0", "h1")):
        nodes.append(fw.Worker(node, name, i, ["-bond=100"]).start())
    nodes.append(fw.Worker(node, "cheat", 2, ["-bond=100", "-corrupt-tiles=1"]).start())

    cheater_jobs = 0
    for attempt in range(6):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "64",
                       "--k", "32", "--tile-rows", "8", "--tile-cols", "8", "--samples", "2",
                       "--redundancy", "2", "--reward", "4", "--deadline", "60", "--wait", check=False)
        job_id = res.stdout.split()[0]
        job, _ = fw.wait_job(node, job_id, ("verified", "paid", "failed", "refunded"))
        workers = {s["worker"] for s in job["slots"]}
        if addr["cheat"] not in workers and addr["cheat"] not in job["excluded"]:
            job, _ = fw.wait_job(node, job_id, ("paid",))
            continue  # two honest workers: same root, paid to both
        cheater_jobs += 1
        if addr["cheat"] in job["excluded"]:
            print("cheater caught by the spot check at reveal")
        else:
            roots = {s["root"] for s in job["slots"]}
            fw.assert_eq(len(roots), 2, "an honest and a corrupted root")
            before = {n: node.rpc("getworker", addr[n])["slashed_total"] for n in ("h0", "h1", "cheat")}
            res = node.cli("--json", "job", "dispute", job_id, "--from", "alice", "--wait")
            out = fw.json.loads(res.stdout)
            fw.assert_eq(out["parties"], 2, "a two-party dispute")
            print(f"two-party dispute of tile {out['tile']}: {out['result']}")
            assert "is wrong: 1 worker(s) with this root slashed" in out["result"], out
            after = {n: node.rpc("getworker", addr[n])["slashed_total"] for n in ("h0", "h1", "cheat")}
            assert after["cheat"] > before["cheat"], (before, after)
            fw.assert_eq((after["h0"], after["h1"]), (before["h0"], before["h1"]), "honest workers untouched")
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=120)
        fw.assert_eq(job["state"], "paid", "paid to the honest worker")
        if cheater_jobs >= 2:
            break
    assert cheater_jobs >= 1, "the cheater was never drawn in six jobs"
    for name in ("h0", "h1"):
        w = node.rpc("getworker", addr[name])
        fw.assert_eq((w["slashed_total"], w["jobs_failed"]), (0, 0), f"{name} never slashed")
    w = node.rpc("getworker", addr["cheat"])
    assert w["slashed_total"] > 0 and w["jobs_failed"] == cheater_jobs, w
    fw.assert_eq(w["jobs_done"], 0, "the cheater is never paid")


if __name__ == "__main__":
    fw.run(test)
