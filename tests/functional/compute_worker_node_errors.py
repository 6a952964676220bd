"""A worker whose node fails to answer for a while does not give up the job
(docs/compute.md §13): the inputs of a blob job that cannot be fetched, an
output that cannot be written or memory that runs out are the worker's (or
its node's) trouble, not the job's, and are tried again at the next block,
where a job given up would cost the slot's lock at the end of its commit
window. The worker talks to a HostileNode that refuses its first three
getblob calls with a JSON-RPC error; it logs that it will try again, then
commits, and the job is paid. Then the proxy refuses every listjobs for a
few seconds: the worker, whose long polls keep answering at once while its
last height is behind the tip, tries again once a second (WORKER_RETRY_MS),
not in a tight loop that fills its log, and goes on once answered."""

import os
import time

import framework as fw

COMPUTE = {"commit_window": 20, "reveal_window": 5, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}
REFUSALS = 3


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    refused = []
    refusing = []  # non-empty: listjobs is refused
    listjobs = {"refused": 0, "answered": 0}

    def lie(method, params, result):
        if method == "getblob" and len(refused) < REFUSALS:
            refused.append(params)
            return fw.RPC_REFUSED
        if method == "listjobs":
            listjobs["refused" if refusing else "answered"] += 1
            if refusing:
                return fw.RPC_REFUSED
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        paths = []
        for name, size in (("a", 16 * 8), ("b", 8 * 16)):  # A 16x8, B 8x16, int8
            path = os.path.join(tmpdir, name + ".bin")
            with open(path, "wb") as f:
                f.write(bytes((i * 7 + len(name)) % 251 for i in range(size)))
            paths.append(path)
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node, "--input-blob", paths[0], "--input-blob", paths[1])
        fw.wait_until(lambda: "cannot fetch its inputs from the node; trying again next block" in w0.tail(300),
                      timeout=60, what="the worker's retry after a refused getblob")
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=120)
        fw.assert_eq(job["state"], "paid", "the job, its inputs fetched at last")
        fw.assert_eq(len(refused), REFUSALS, "getblob refusals")
        assert "compute failed" not in w0.tail(400), w0.tail(40)

        def listjobs_lines():
            return w0.tail(100000).count("rpc listjobs")

        before = listjobs_lines()
        refusing.append(True)  # from now on every listjobs is refused
        fw.wait_until(lambda: listjobs["refused"] > 0, timeout=30, what="a refused listjobs")
        time.sleep(4)
        asked, logged = listjobs["refused"], listjobs_lines() - before
        refusing.clear()
        assert asked <= 8, f"{asked} listjobs calls in ~4 s of refusals: a tight loop"
        assert 1 <= logged <= 8, f"{logged} 'rpc listjobs' lines logged in ~4 s"
        answered = listjobs["answered"]
        fw.wait_until(lambda: listjobs["answered"] > answered, timeout=30,
                      what="the worker asking listjobs again once the node answers")
    finally:
        hostile.stop()
    print(f"job {job_id[:16]}: paid after {REFUSALS} refused getblob calls")


if __name__ == "__main__":
    fw.run(test)
