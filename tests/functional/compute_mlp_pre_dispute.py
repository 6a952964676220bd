"""An mlp-i8 job of two slots where one worker commits a wrong
pre-activation under a right output (docs/compute.md §6.3): `-corrupt-pre=1`
flips one z_1 entry of its last tile of 64, which a 2-tile spot check
usually misses. Both slots verify with the same output bytes and different
roots. `job dispute` finds the tile whose leaves differ (by the digest P_i
alone) and sends a two-party dispute; the chain recomputes the tile's
pre-activations, slashes the corrupted root and pays the honest worker.
Before, that dispute was refused ("the two tiles agree"), the roots
disagreed at payout and the job failed: the honest worker unpaid, the
cheat unslashed."""

import framework as fw

UNIT = 10**9
K = 2
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 30, "min_bond": UNIT,
           "samples_k": K, "slash_bps": 1000, "slash_submitter_bps": 0, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "honest", "cheat"], COMPUTE)
    nodes.append(fw.Worker(node, "honest", 0, ["-bond=100"]).start())
    nodes.append(fw.Worker(node, "cheat", 1, ["-bond=100", "-corrupt-pre=1"]).start())
    for attempt in range(5):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "mlp-i8", "--m", "64", "--dims", "24,32,10",
                       "--tile-rows", "1", "--samples", str(K), "--redundancy", "2", "--reward", "4",
                       "--deadline", "60", "--wait", check=False)
        job_id = res.stdout.split()[0]
        job, _ = fw.wait_job(node, job_id, ("verified", "paid", "failed", "refunded"))
        if addr["cheat"] in job["excluded"]:
            print("the spot check drew the corrupted tile (2 in 64): slashed at reveal")
            fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=120)
            continue
        fw.assert_eq(job["state"], "verified", "both slots verified")
        fw.assert_eq(len({s["root"] for s in job["slots"]}), 2, "an honest and a corrupted root")
        outs = []
        for slot in (0, 1):
            path = f"{tmpdir}/out{slot}.bin"
            node.cli("job", "output", job_id, "--slot", str(slot), "-o", path)
            outs.append(open(path, "rb").read())
        fw.assert_eq(outs[0] == outs[1], True, "the two outputs are the same bytes")
        before = {n: node.rpc("getworker", addr[n]) for n in ("honest", "cheat")}
        res = node.cli("--json", "job", "dispute", job_id, "--from", "alice", "--wait")
        out = fw.json.loads(res.stdout)
        fw.assert_eq((out["parties"], out["tile"]), (2, 63), "a two-party dispute of the corrupted tile")
        assert "is wrong: 1 worker(s) with this root slashed" in out["result"], out
        after = {n: node.rpc("getworker", addr[n]) for n in ("honest", "cheat")}
        assert after["cheat"]["slashed_total"] > before["cheat"]["slashed_total"], (before, after)
        fw.assert_eq(after["honest"]["slashed_total"], before["honest"]["slashed_total"], "honest untouched")
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=120)
        fw.assert_eq(job["state"], "paid", "paid to the honest worker")
        w = node.rpc("getworker", addr["honest"])
        fw.assert_eq(w["jobs_done"], before["honest"]["jobs_done"] + 1, "the honest worker is paid")
        fw.assert_eq(node.rpc("getworker", addr["cheat"])["jobs_done"], 0, "the cheat is never paid")
        break
    else:
        raise AssertionError("the sample caught the corrupted tile five times running")


if __name__ == "__main__":
    fw.run(test)
