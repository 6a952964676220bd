"""A worker serves its output only once its own reveal has opened its root
(docs/compute.md §10 "A hostile node", §13), not because the node says the
slot is verified. The worker talks to a HostileNode that, as soon as the
heights allow it (the tip past the sealing commit + challenge_delay + 1),
says the worker's committed slot was challenged at c + d and verified the
block after, with some root: a record every height rule accepts, made up
before the worker revealed anything, so with a root that is not the
worker's (only its reveal could tell the node that root). Polled all
along, as a copier would poll it, the worker's output server answers 404
every time, the worker says why once, and it neither uploads nor serves;
on the real chain its slot, never revealed, misses its reveal. Then, for a second job, the node says
the slot was challenged one block after the seal, before challenge_delay
blocks could pass: the worker hands the node no job_reveal (its root and
tiles) and says why."""

import struct
import threading
import time
import urllib.error
import urllib.request

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 3, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3, "challenge_delay": 2}
D = COMPUTE["challenge_delay"]

# Offsets in the encoded record of a matmul-i8 job on a seed with one slot
# (consensus/compute/compute_codec.c, compute_job_encode): id 32, submitter
# 20, spec 103 (kind, m, n, k, tile rows and cols, input kind, seed, samples,
# redundancy, reward, deadline, salt_hash), then the job's fields.
JOB = 32 + 20 + 103
SUBMIT, SEALED, CHALLENGE = JOB + 1, JOB + 1 + 6 * 8, JOB + 1 + 7 * 8
SLOT = CHALLENGE + 8 + 32 + 1 + 32
S_STATE, S_CHALLENGE, S_REVEAL, S_ROOT = SLOT, SLOT + 1 + 20 + 16, SLOT + 1 + 20 + 24, SLOT + 1 + 20 + 40 + 32
SLOT_VERIFIED = 4


SLOT_CHALLENGED = 3
TX_KIND_AT, TX_JOB_REVEAL = 32 + 8 + 32 + 8 + 8, 9  # a transaction's kind byte (docs/protocol.md §3)


def made_up_verified(record_hex):
    """The record with slot 0 challenged at c + d and verified at c + d + 1."""
    rec = bytearray(bytes.fromhex(record_hex))
    c = struct.unpack_from("<Q", rec, SEALED)[0]
    struct.pack_into("<Q", rec, CHALLENGE, c + D)
    rec[S_STATE] = SLOT_VERIFIED
    struct.pack_into("<QQ", rec, S_CHALLENGE, c + D, c + D + 1)
    rec[S_ROOT:S_ROOT + 32] = b"\x77" * 32
    return rec.hex()


def made_up_challenged(record_hex):
    """The record with slot 0 challenged at c + 1, before c + d could be."""
    rec = bytearray(bytes.fromhex(record_hex))
    c = struct.unpack_from("<Q", rec, SEALED)[0]
    struct.pack_into("<Q", rec, CHALLENGE, c + 1)
    rec[S_STATE] = SLOT_CHALLENGED
    struct.pack_into("<Q", rec, S_CHALLENGE, c + 1)
    return rec.hex()


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    lies = []
    mode = {}  # job id -> "verified" or "challenged": what the node makes up
    reveals = []  # job_reveal transactions the worker handed the node

    def lie_about(job):
        if not isinstance(job, dict) or job["slots"][0]["state"] not in ("committed", "challenged") \
                or not job["sealed_height"] or job["job_id"] not in mode:
            return job
        if mode[job["job_id"]] == "challenged":
            lies.append(job["job_id"])
            return dict(job, record=made_up_challenged(job["record"]))
        if node.height() < job["sealed_height"] + D + 1:
            return job  # the made-up reveal would lie past the tip
        lies.append(job["job_id"])
        return dict(job, record=made_up_verified(job["record"]))

    def lie(method, params, result):
        if method == "sendrawtransaction" and bytes.fromhex(params[0])[TX_KIND_AT] == TX_JOB_REVEAL:
            reveals.append(params[0])
        if method == "listjobs" and isinstance(result, list):
            return [lie_about(j) for j in result]
        if method == "getjob":
            return lie_about(result)
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node)
        mode[job_id] = "verified"

        # the offsets above, checked against a real record
        job, _ = fw.wait_job(node, job_id, ("committed", "verified", "paid", "failed", "refunded"), timeout=60,
                             missing_ok=True)
        rec = bytes.fromhex(job["record"])
        fw.assert_eq(struct.unpack_from("<Q", rec, SUBMIT)[0], job["submit_height"], "submit_height offset")
        fw.assert_eq(struct.unpack_from("<Q", rec, SEALED)[0], job["sealed_height"], "sealed_height offset")
        fw.assert_eq(rec[S_STATE], 2, "slot 0 committed")

        statuses = []
        url = f"http://127.0.0.1:{w0.port}/job/{job_id}"
        end = job["sealed_height"] + D + COMPUTE["salt_window"] + COMPUTE["reveal_window"] + 2
        while node.height() <= end:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    statuses.append(r.status)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)
            time.sleep(0.05)
        assert lies, "the hostile node never lied (the worker did not ask while the lie held)"
        fw.assert_eq(sorted(set(statuses)), [404], "no output served on the node's word")
        assert "not serving or uploading the output: the root the node says our reveal opened is not ours" \
            in w0.tail(400), w0.tail(30)
        fw.assert_eq(fw.fees_paid(node, addr["w0"], 1, node.height(), kind="job_chunks"), 0, "nothing uploaded")
        job = node.rpc("getjob", job_id)
        assert job["slots"][0]["state"] != "verified", job
        fw.assert_eq(len(reveals), 0, "no reveal: the node never showed the slot challenged")

        # A second job: the node says the slot was challenged one block
        # after the seal, before the challenge_delay could have passed. The
        # worker does not reveal (it would hand the node its root and
        # tiles) and says why.
        job2 = fw.submit_tiny_job(node)
        mode[job2] = "challenged"
        job, _ = fw.wait_job(node, job2, ("committed", "verified", "paid", "failed", "refunded"), timeout=60,
                             missing_ok=True)
        node.wait_for_height(job["sealed_height"] + D + COMPUTE["salt_window"] + COMPUTE["reveal_window"] + 2)
        assert job2 in lies, "the hostile node never lied about the second job"
        fw.assert_eq(len(reveals), 0, "no reveal on a challenge before c + d")
        assert f"job {job2[:16]}: not revealing: challenged at height" in w0.tail(400), w0.tail(30)
    finally:
        hostile.stop()
    print(f"{len(statuses)} requests from the seal on, {len(lies)} answers lied: all 404")


if __name__ == "__main__":
    fw.run(test)
