"""A worker whose chunks its node refuses still uploads (docs/compute.md
§15.5): anyone may store valid chunks cut from a worker's under its root
until the root is full for chunks nothing names, and the node then refuses
the worker's own; named by a job_chunks the node holds (parked until its
chunks come), they are taken. The worker talks to a HostileNode that
refuses every chunk whose hash no job_chunks sent so far names, as such a
full root does. The worker names the refused chunks in its job_chunks all
the same, submits them again, and the job is paid. (It used to stop at the
first refused chunk and never send the transaction: the slot missed its
upload window.)"""

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 6, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    refused = []

    def named(chunk_hex):
        for method, params in list(hostile.requests):
            if method in ("sendrawtransaction", "sendrawtransactions") and chunk_hex in str(params):
                return True
        return False

    def refuse(enc):
        h = fw.tagged_hash("assay/chunk", enc).hex()
        if named(h):
            return False
        refused.append(h)
        return True

    hostile = fw.HostileNode(node, lambda method, params, result: result, refuse_chunk=refuse).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node)

        def mined():
            try:
                return node.rpc("getjob", job_id) is not None
            except fw.RPCError:
                return False

        fw.wait_until(mined, timeout=30, what="the job submitted")
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=120)
        fw.assert_eq(job["state"], "paid", "the job, its chunks refused at first")
        assert refused, "the hostile node refused no chunk"
        assert "taken on a second try" in w0.tail(400), w0.tail(40)
    finally:
        hostile.stop()
    print(f"job {job_id[:16]}: paid after {len(refused)} refused chunk submission(s)")


if __name__ == "__main__":
    fw.run(test)
