"""A worker stops acting on a job whose spec the node changes (docs/compute.md
§10 "A hostile node", §13): a spec never changes on chain, so a record that
says otherwise is a lie, and what the worker computed must not be revealed
or uploaded under it. The worker talks to a HostileNode that, from the
moment the worker's slot has committed, gives the job another seed in every
record (listjobs and getjob). The worker logs that it stops acting on the
job, never sends a job_reveal for it and never serves its output; the
slot misses its reveal on the real chain."""

import os
import urllib.error
import urllib.request

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 3, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}
SEED = "5e" * 32
LIED_SEED = "a1" * 32


def lie_about(job):
    """The job as the hostile node tells it: another seed once a slot committed."""
    if not isinstance(job, dict) or job.get("seed") != SEED:
        return job
    if not any(s.get("state") not in ("empty", "assigned") for s in job.get("slots", [])):
        return job
    return dict(job, seed=LIED_SEED, record=fw.job_record_with(job["record"], SEED, LIED_SEED))


def lie(method, params, result):
    if method == "listjobs" and isinstance(result, list):
        return [lie_about(j) for j in result]
    if method == "getjob":
        return lie_about(result)
    return result


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    hostile = fw.HostileNode(node, lie).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node, "--seed", SEED)
        fw.wait_until(lambda: "the node now gives this job another spec; we stop acting on it" in w0.tail(200),
                      timeout=60, what="the worker's refusal of the changed spec")
        job = node.rpc("getjob", job_id)
        fw.assert_eq(job["seed"], SEED, "the chain's spec never changed")
        fw.wait_until(lambda: node.rpc("getjob", job_id)["slots"][0]["challenge_height"] is not None
                      or node.rpc("getjob", job_id)["slots"][0]["state"] != "committed", timeout=60,
                      what="the challenge")
        challenged = node.rpc("getjob", job_id)["slots"][0]["challenge_height"]
        node.wait_for_height(challenged + COMPUTE["reveal_window"] + 2)
        job = node.rpc("getjob", job_id)
        assert job["slots"][0]["state"] != "verified", job
        log = w0.tail(400)
        assert "job_reveal" not in log, log
        assert "job_chunks" not in log, log
        fw.assert_eq(fw.fees_paid(node, addr["w0"], 1, node.height(), kind="job_reveal"), 0, "no reveal sent")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{w0.port}/job/{job_id}", timeout=5) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        fw.assert_eq(status, 404, "the output is not served")
        assert hostile.calls.get("listjobs"), "the worker went through the hostile node"
        fw.assert_eq(w0.stop(), 0, "the worker exits cleanly")
    finally:
        hostile.stop()
    print(f"job {job_id[:16]}: the changed spec stopped the worker before its reveal")


if __name__ == "__main__":
    fw.run(test)
