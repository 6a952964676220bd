"""A worker whose node fails to answer for a while does not give up the job
(docs/compute.md §13): the inputs of a blob job that cannot be fetched, an
output that cannot be written or memory that runs out are the worker's (or
its node's) trouble, not the job's, and are tried again at the next block,
where a job given up would cost the slot's lock at the end of its commit
window. The worker talks to a HostileNode that refuses its first three
getblob calls with a JSON-RPC error; it logs that it will try again, then
commits, and the job is paid."""

import os

import framework as fw

COMPUTE = {"commit_window": 20, "reveal_window": 5, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}
REFUSALS = 3


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    refused = []

    def lie(method, params, result):
        if method == "getblob" and len(refused) < REFUSALS:
            refused.append(params)
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
    finally:
        hostile.stop()
    print(f"job {job_id[:16]}: paid after {REFUSALS} refused getblob calls")


if __name__ == "__main__":
    fw.run(test)
