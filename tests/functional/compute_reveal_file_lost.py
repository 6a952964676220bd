"""A worker that revealed, then lost OUTDIR/JOB_ID.reveal (the txids of its
job_reveal transactions) or was restarted by a version that never wrote it,
still uploads and serves the job's output (docs/compute.md §13): it finds
its own signed job_reveal, with its own root for the job, in the block at
the slot's reveal_height. The worker talks to a HostileNode that refuses
listjobs once the worker's slot is verified on chain, so the worker stops
between its reveal and its upload; the test stops it there, deletes
JOB_ID.reveal and starts it again, straight on the node. The job is paid:
the restarted worker uploaded every tile, and its output server hands out
the output."""

import os
import urllib.request

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 40, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    held = []  # the records the worker was not shown

    def lie(method, params, result):
        if method == "listjobs" and any(s.get("worker") == addr["w0"] and s.get("state") == "verified"
                                        for job in result for s in job["slots"]):
            held.append(result)
            return fw.RPC_REFUSED
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "16", "--n", "16",
                       "--k", "8", "--tile-rows", "8", "--tile-cols", "8", "--samples", "2", "--reward", "2",
                       "--deadline", "120")
        job_id = res.stdout.split()[0]
        fw.wait_until(lambda: held, timeout=60, what="the worker's slot verified on chain")
        w0.stop()
    finally:
        hostile.stop()
    outdir = os.path.join(node.datadir, "worker", "w0")
    job = node.rpc("getjob", job_id)
    slot = job["slots"][0]
    fw.assert_eq(slot["state"], "verified", "revealed before the stop")
    fw.assert_eq(slot["uploaded_tiles"], 0, "nothing uploaded before the stop")
    assert not os.path.exists(os.path.join(outdir, f"{job_id}.opened")), "judged opened before the stop"
    reveal_file = os.path.join(outdir, f"{job_id}.reveal")
    assert os.path.exists(reveal_file), os.listdir(outdir)
    os.remove(reveal_file)

    w0 = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(w0.start())
    job, seen = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=90)
    fw.assert_eq(job["state"], "paid", f"paid after the restart without {job_id[:16]}.reveal (seen {seen})")
    fw.assert_eq(job["slots"][0]["uploaded_tiles"], job["tiles"], "every tile uploaded")
    assert "found its own job_reveal" in w0.tail(100), w0.tail(30)
    with urllib.request.urlopen(f"http://127.0.0.1:{w0.port}/job/{job_id}", timeout=5) as r:
        fw.assert_eq(len(r.read()), 16 * 16 * 4, "the whole output served")
    print(f"job {job_id[:16]} paid after a restart without its .reveal file")


if __name__ == "__main__":
    fw.run(test)
