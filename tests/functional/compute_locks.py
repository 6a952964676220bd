"""Each assignment locks bond_reward_bps x reward of the worker's bond for
that job alone (docs/compute.md §5, §10): a worker takes only jobs its free
bond covers, and a slash takes that job's lock. A worker bonded 60 ASY is
drawn for six 10-ASY jobs (six locks of 10) but not a seventh; it corrupts
every tile, each job's spot check catches it, and six caught jobs cost it
exactly six locks, 60 ASY. (One bond used to back up to 16 jobs, and six
slashes of half the bond cost 984 of 1000 ASY.)"""

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=60", "-corrupt-fraction=1"])
    nodes.append(worker.start())
    ids = []
    for i in range(7):
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32", "--n", "32",
                       "--k", "16", "--tile-rows", "8", "--tile-cols", "8", "--reward", "10",
                       "--deadline", "40")
        ids.append(res.stdout.split()[0])
    most = 0
    for _ in range(300):
        w = node.rpc("getworker", addr["w0"])
        assert w["locked"] <= w["bond"], w
        most = max(most, w["jobs_in_flight"])
        if w["jobs_failed"] == 6:
            break
        fw.time.sleep(0.05)
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq(w["jobs_failed"], 6, "six jobs caught")
    assert most <= 6, f"{most} jobs in flight on a bond covering six locks"
    fw.assert_eq(w["slashed_total"], 6 * 10 * UNIT, "six caught jobs cost six locks")
    fw.assert_eq((w["bond"], w["locked"], w["jobs_in_flight"]), (0, 0, 0), "nothing left to lock")
    drawn = [j for j in ids if addr["w0"] in node.rpc("getjob", j)["excluded"]]
    fw.assert_eq(len(drawn), 6, "the worker took six of the seven jobs")
    for j in ids:
        job, _ = fw.wait_job(node, j, ("refunded", "failed", "paid"), timeout=60)
        fw.assert_eq(job["state"], "refunded", "no honest worker: refunded at the deadline")


if __name__ == "__main__":
    fw.run(test)
