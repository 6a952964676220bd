"""An mlp-i8 job with its inputs uploaded from files (docs/compute.md §2,
§14): `job submit --input-blob FILE` once per input (X, then W and bias of
each layer, in the spec's layouts) stores them as blobs and names them in
the job; the worker computes it, the spot-check recomputes the sampled
tiles, the job is paid, and `job output` recomputes the whole output before
writing it. The written output is compared with this file's own reference
of the spec's arithmetic (exact sums, round-half-up shift, ReLU on hidden
layers, saturation). Submitting the same files again posts no blob. A job
with 1024-wide layers and 66 samples gets tiles small enough for its reveal
to fit a transaction when --tile-rows is not given."""

import hashlib
import os
import random
import struct

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2}
BATCH = 20
DIMS = [24, 32, 10]
SHIFTS = [6, 6]


def reference(x, layers):
    """docs/compute.md §2 "mlp-i8", row by row."""
    out = []
    for row in x:
        v = row
        for l, (w, bias, shift) in enumerate(layers):
            nxt = []
            for j in range(len(bias)):
                acc = bias[j] + sum(v[i] * w[i][j] for i in range(len(v)))
                q = (acc + (1 << (shift - 1))) >> shift if shift else acc
                if l < len(layers) - 1:
                    q = max(q, 0)
                nxt.append(min(127, max(-128, q)))
            v = nxt
        out.append(v)
    return out


def int8_bytes(values):
    return struct.pack(f"{len(values)}b", *values)


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    rng = random.Random(7)
    x = [[rng.randint(-60, 60) for _ in range(DIMS[0])] for _ in range(BATCH)]
    layers, files = [], []

    def write(name, data):
        path = os.path.join(tmpdir, name)
        with open(path, "wb") as f:
            f.write(data)
        files.append(path)

    write("x.bin", int8_bytes([v for row in x for v in row]))
    for l in range(len(SHIFTS)):
        w = [[rng.randint(-20, 20) for _ in range(DIMS[l + 1])] for _ in range(DIMS[l])]
        bias = [rng.randint(-500, 500) for _ in range(DIMS[l + 1])]
        write(f"w{l}.bin", int8_bytes([v for row in w for v in row]))  # W[i][j] at i*d(l+1) + j
        write(f"b{l}.bin", struct.pack(f"<{len(bias)}i", *bias))
        layers.append((w, bias, SHIFTS[l]))
    want = reference(x, layers)
    flat = [v for row in want for v in row]
    assert len(set(flat)) > 20 and sum(v in (-128, 127) for v in flat) < len(flat) // 4, "inputs too saturated"

    worker_before = node.rpc("getaccount", addr["w0"])["balance"]
    args = ["job", "submit", "--from", "alice", "--kind", "mlp-i8", "--m", str(BATCH),
            "--dims", ",".join(map(str, DIMS)), "--shifts", ",".join(map(str, SHIFTS)), "--tile-rows", "4",
            "--samples", "2", "--reward", "3"]
    for path in files:
        args += ["--input-blob", path]
    res = node.cli(*args, "--wait")
    job_id = res.stdout.split()[0]
    fw.assert_eq(res.stderr.count(" stored ("), len(files), "one blob transaction per input")
    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"))
    fw.assert_eq(job["state"], "paid", "final state")
    fw.assert_eq((job["kind"], job["dims"], job["shifts"], job["tiles"]), ("mlp-i8", DIMS, SHIFTS, 5), "shape")
    fw.assert_eq(job["input"], "blobs", "input kind")
    hashes = []
    for path in files:
        with open(path, "rb") as f:
            hashes.append(hashlib.sha256(f.read()).hexdigest())
    fw.assert_eq(job["blobs"], hashes, "the job names the uploaded files")
    fw.assert_eq(job["slots"][0]["worker"], addr["w0"], "worker")
    assert "computed mlp-i8 batch 20, 2 layers" in worker.tail(60), worker.tail(60)
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq((w["jobs_done"], w["slashed_total"]), (1, 0), "worker counters")
    gained = node.rpc("getaccount", addr["w0"])["balance"] - worker_before
    assert 0 < 3 * UNIT - gained < UNIT // 100, f"worker gained {gained}: the reward less a few fees"

    # 200 bytes of output, from the worker once its root is opened; the
    # client checks it against that root and recomputes it from the blobs.
    out = os.path.join(tmpdir, "out.bin")
    res = node.cli("job", "output", job_id, "-o", out)
    assert "from the chain (output chunks)" in res.stdout, res.stdout
    assert "recomputation passed" in res.stdout, res.stdout
    with open(out, "rb") as f:
        data = f.read()
    fw.assert_eq(list(struct.unpack(f"{len(data)}b", data)), flat, "output equals the reference")
    assert hashlib.sha256(data).hexdigest() in res.stdout, res.stdout

    # The blobs are stored: the same inputs again post nothing new.
    res = node.cli(*args)
    fw.assert_eq(res.stderr.count(" stored ("), 0, "no blob posted twice")
    again = res.stdout.split()[0]
    fw.assert_eq(fw.wait_job(node, again, ("open", "assigned", "committed", "verified", "paid"),
                             missing_ok=True)[0]["blobs"], hashes, "same blobs")
    fw.wait_job(node, again, ("paid",))

    # Signed offline (--raw) with new inputs: every transaction the command
    # signs (a blob each, then the job) takes the next nonce, from the
    # pending one or from --nonce; nothing is sent, and no blob is said to
    # be stored.
    fresh = []
    for path in files:
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[0] ^= 1
        fresh.append(path + ".raw")
        with open(fresh[-1], "wb") as f:
            f.write(bytes(data))
    raw_args = [a if a not in files else fresh[files.index(a)] for a in args]
    pending = node.rpc("getaccount", addr["alice"])["pending_nonce"]
    for extra, first in (([], pending), (["--nonce", "1000"], 1000)):
        res = node.cli(*raw_args, "--raw", *extra)
        txs = res.stdout.split()
        fw.assert_eq(len(txs), len(files) + 1, "a blob transaction per input, then the job's")
        nonces = [node.rpc("decoderawtransaction", tx)["nonce"] for tx in txs]
        fw.assert_eq(nonces, list(range(first, first + len(txs))), f"nonces {extra}")
        fw.assert_eq(res.stderr.count(" stored ("), 0, "nothing was stored")
        fw.assert_eq(res.stderr.count("signed, not sent"), len(files), "each blob said to be signed only")
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["pending_nonce"], pending, "nothing was sent")

    # Wide layers at 66 samples: 16-row tiles would make a 9.7 MB reveal,
    # which job_submit refuses (max_tx_bytes 1 MiB), so without --tile-rows
    # the CLI takes 1-row tiles, whose reveal fits; the job runs and is paid.
    wide = ["job", "submit", "--from", "alice", "--kind", "mlp-i8", "--m", "1056", "--dims", "1024,1024,1024",
            "--samples", "66", "--reward", "3"]
    res = node.cli(*wide, "--tile-rows", "16", check=False)
    assert res.returncode != 0 and "max_tx_bytes" in res.stderr, (res.returncode, res.stderr)
    res = node.cli(*wide, "--wait", "--timeout", "120")
    wide_id = res.stdout.split()[0]
    job, _ = fw.wait_job(node, wide_id, ("paid", "failed", "refunded"), timeout=120)
    fw.assert_eq((job["state"], job["tiles"]), ("paid", 1056), "1-row tiles, paid")


if __name__ == "__main__":
    fw.run(test)
