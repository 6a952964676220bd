"""Copying another slot's output before committing is impossible (docs/compute.md
§1, §13): a worker serves no output before its root is opened on chain. With
r = 2 this test polls the first worker's output server (GET /job/JOB_ID)
from the moment the job is submitted, as a copier drawn to the other slot
would: every answer is 404 until that worker's reveal has opened its root,
and only then does the server hand out the output, which checks against
the opened root. `job output` reads it from the worker; once the worker is
stopped it fails cleanly, naming the endpoint."""

import hashlib
import os
import threading
import time
import urllib.error
import urllib.request

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)
    workers = [fw.Worker(node, name, i, ["-bond=100"]) for i, name in enumerate(("w0", "w1"))]
    for w in workers:
        nodes.append(w.start())
    endpoints = {addr[name]: f"http://127.0.0.1:{w.port}" for name, w in zip(("w0", "w1"), workers)}

    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "64", "--n", "48",
                   "--k", "40", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                   "--redundancy", "2", "--reward", "4", "--deadline", "80")
    job_id = res.stdout.split()[0]

    # The copier's view: both servers, every 20 ms, with the chain's state of
    # each slot at that moment.
    seen = []  # (slot root opened?, http status, body)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                job = node.rpc("getjob", job_id)
            except fw.RPCError:
                time.sleep(0.02)
                continue
            for slot in job["slots"]:
                if slot.get("worker") not in endpoints:
                    continue
                url = f"{endpoints[slot['worker']]}/job/{job_id}"
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        status, body = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, body = e.code, b""
                # read the slot again: opened before or after the answer?
                after = node.rpc("getjob", job_id)["slots"][slot["slot"]]
                seen.append((slot["root"] is not None, after["root"] is not None, status, body, after["root"]))
            time.sleep(0.02)

    t = threading.Thread(target=poll)
    t.start()
    try:
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=90, missing_ok=True)
    finally:
        stop.set()
        t.join()
    fw.assert_eq(job["state"], "paid", "paid to both workers")
    before_open = [s for s in seen if not s[1]]
    assert before_open, "the copier never looked before a root was opened"
    for opened_before, opened_after, status, _, _ in before_open:
        fw.assert_eq(status, 404, "no output before the root is opened")
    served = [s for s in seen if s[2] == 200]
    assert served, "the output was never served after opening"
    for opened_before, opened_after, status, body, root in served:
        assert opened_after, "served while the root was still closed"
        fw.assert_eq(len(body), 64 * 48 * 4, "whole output")
    print(f"{len(before_open)} requests before opening, all 404; {len(served)} served after")

    out = os.path.join(tmpdir, "out.bin")
    res = node.cli("job", "output", job_id, "-o", out, "--from-worker")
    assert "from worker" in res.stdout and "full Freivalds test passed" in res.stdout, res.stdout
    with open(out, "rb") as f:
        fw.assert_eq(hashlib.sha256(f.read()).hexdigest() in res.stdout, True, "the output's hash printed")

    for w in workers:
        fw.assert_eq(w.stop(), 0, "worker exits cleanly")
    res = node.cli("job", "output", job_id, "-o", out + ".2", "--from-worker", check=False)
    fw.assert_eq(res.returncode, 1, "the workers' servers are gone")
    assert "cannot be fetched from http://127.0.0.1:" in res.stderr, res.stderr
    assert not os.path.exists(out + ".2"), "nothing written"
    # ... but the output is still the chain's nodes' (docs/compute.md §15)
    res = node.cli("job", "output", job_id, "-o", out + ".3")
    assert "from the chain (output chunks)" in res.stdout, res.stdout


if __name__ == "__main__":
    fw.run(test)
