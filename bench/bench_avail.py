#!/usr/bin/env python3
"""Output availability throughput (docs/compute.md §15, docs/benchmarks.md
"Output availability"): the chunks of a 64 MiB matmul-i8 output (4096 x
4096 int32, 64 chunks of 1 MiB) moved over loopback to and from a real
assayd, as hex JSON-RPC (submitjobchunk, getjobchunk) and as bytes (POST
/chunk, GET /chunk/..., docs/rpc.md), beside a raw TCP push of 64 MiB
between two sockets, all in the same run. Prints MiB/s per figure and per
run, the medians, and each transport's ratio to raw TCP. Never fails on
time.

How (all real processes, the framework's local chain): a withholding
worker commits and reveals the job, so its root is open and no chunk is
uploaded; the node stops and its data directory is kept as a snapshot.
The node restarts with a normal worker, which uploads every chunk (the
worker's own path: bytes); the bench fetches them back both ways. Each run
then starts two fresh nodes from the snapshot (no chunks held, the
uploads open, no blocks made) and submits all 64 chunks to one as JSON and
to the other as bytes, so each upload does the node's full check and write.

Usage: python3 bench/bench_avail.py [--build DIR] [--dir DIR] [--port BASE]
                                    [--runs N] [--blocktime MS]"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1 << 20
M = N = 4096


def raw_tcp(total):
    """Seconds to move `total` bytes through one loopback TCP connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = [0]

    def sink():
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)
        c.close()

    t = threading.Thread(target=sink)
    t.start()
    cli = socket.create_connection(("127.0.0.1", port))
    block = os.urandom(MIB)
    t0 = time.perf_counter()
    for _ in range(total // MIB):
        cli.sendall(block)
    cli.close()
    t.join()
    secs = time.perf_counter() - t0
    srv.close()
    assert got[0] == total
    return secs


def http_call(node, method, path, body=None, ctype=None):
    """One request on its own connection, as assay-worker and assay-cli
    make them: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.rpcport, timeout=60)
    headers = {"Authorization": "Basic " + base64.b64encode(node.cookie().encode()).decode(),
               "Connection": "close"}
    if ctype:
        headers["Content-Type"] = ctype
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def rpc(node, method, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    status, _, data = http_call(node, "POST", "/", body, "application/json")
    reply = json.loads(data)
    assert not reply.get("error"), (method, reply.get("error"))
    return reply["result"]


def fetch_json(node, job_id):
    chunks, first = [], 0
    while first < 4096:
        r = rpc(node, "getjobchunk", job_id, 0, first)
        chunks.append(bytes.fromhex(r["chunk"]))
        first = r["next_tile"]
    return chunks


def fetch_binary(node, job_id):
    chunks, first = [], 0
    while first < 4096:
        status, headers, body = http_call(node, "GET", f"/chunk/{job_id}/0/{first}")
        assert status == 200, (status, body[:200])
        chunks.append(body)
        first = int(headers["X-Assay-Next-Tile"])
    return chunks


def upload_json(node, chunks):
    for c in chunks:
        assert rpc(node, "submitjobchunk", c.hex())["new"], "a fresh node holds no chunk"


def upload_binary(node, chunks):
    for c in chunks:
        status, _, body = http_call(node, "POST", "/chunk", c, "application/octet-stream")
        assert status == 200 and json.loads(body)["result"]["new"], (status, body[:200])


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--dir", help="working directory (kept); default: a temporary one, removed")
    ap.add_argument("--port", type=int, help="first of 48 loopback ports to use (default: the test framework's pick)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--blocktime", type=int, default=200)
    args = ap.parse_args()
    os.environ["ASSAY_BUILD"] = os.path.abspath(args.build)
    sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))
    import framework as fw

    unit = 10**9
    # Long windows: the snapshot's uploads stay open through the restart.
    compute = {"commit_window": 40, "reveal_window": 40, "upload_window": 600, "dispute_window": 4,
               "min_bond": unit, "samples_k": 2}
    workdir = os.path.abspath(args.dir) if args.dir else tempfile.mkdtemp(prefix="assay-bench-avail-")
    os.makedirs(workdir, exist_ok=True)
    if args.port:
        fw.free_port_block = lambda: args.port  # the nodes' and the worker's ports from --port
    procs = []
    try:
        node, _ = fw.local_compute_chain(workdir, procs, ["alice", "w0"], compute, blocktime=args.blocktime)
        out_bytes = M * N * 4
        print(f"bench_avail: {out_bytes // MIB} MiB output ({M}x{N} int32, 64x64 tiles), blocks every "
              f"{args.blocktime} ms, {os.cpu_count()} CPUs, {args.runs} runs")

        # 1. root open, nothing uploaded: the snapshot
        withholder = fw.Worker(node, "w0", 0, ["-bond=100", "-withhold-output"])
        procs.append(withholder.start())
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", str(M), "--n", str(N),
                       "--k", "16", "--tile-rows", "64", "--tile-cols", "64", "--samples", "2",
                       "--seed", "55" * 32, "--reward", "1", "--deadline", "1000")
        job_id = res.stdout.split()[0]
        fw.wait_until(lambda: slot(node, fw, job_id).get("state") == "verified", 120, "the root opened")
        withholder.stop()
        node.stop()
        snapshot = os.path.join(workdir, "snapshot")
        shutil.copytree(node.datadir, snapshot)

        # 2. the worker uploads (bytes); fetch both ways
        node.start()
        worker = fw.Worker(node, "w0", 0, ["-bond=100"])
        t0 = time.perf_counter()
        procs.append(worker.start(wait_registered=False))
        fw.wait_until(lambda: slot(node, fw, job_id).get("uploaded_tiles", 0) >= 4096, 120, "every tile uploaded")
        worker_secs = time.perf_counter() - t0
        m = re.search(r"computed matmul-i8 \S+ on cpu in ([\d.]+) s", worker.tail(400))
        compute_secs = float(m.group(1)) if m else 0.0
        worker.stop()
        print(f"worker restart -> all 4096 tiles uploaded (POST /chunk, then job_chunks at chain pace): "
              f"{worker_secs:.2f} s, of which computing {compute_secs:.2f} s")
        t, cli_out = timed(node.cli, "job", "output", job_id, "-o", os.path.join(workdir, "out.bin"))
        assert "from the chain (output chunks)" in cli_out.stdout, cli_out.stdout
        print(f"assay-cli job output (GET /chunk/..., each chunk's proof, the Merkle root, full Freivalds): "
              f"{t:.2f} s, {out_bytes / MIB / t:.1f} MiB/s")

        figures = {k: [] for k in ("fetch_json", "fetch_binary", "upload_json", "upload_binary", "raw")}
        chunks = None
        for run in range(args.runs):
            t_fj, by_json = timed(fetch_json, node, job_id)
            t_fb, by_bytes = timed(fetch_binary, node, job_id)
            assert by_json == by_bytes, "the same chunks both ways"
            chunks = chunks or by_bytes
            wire = sum(len(c) for c in chunks)
            uploads = {}
            ways = [("upload_json", upload_json), ("upload_binary", upload_binary)]
            for way, fn in ways if run % 2 == 0 else ways[::-1]:  # alternate which goes first
                fresh = fw.Node(10 + len(uploads), workdir, network="local", port_base=args.port)
                shutil.rmtree(fresh.datadir)
                shutil.copytree(snapshot, fresh.datadir)
                fresh.extra_args = ["-novalidator", "-nolisten", f"-blocktime={args.blocktime}"]
                procs.append(fresh.start())
                uploads[way], _ = timed(fn, fresh, chunks)
                fresh.stop()
                shutil.rmtree(fresh.datadir)
            raw = raw_tcp(out_bytes)
            for k, v in (("fetch_json", t_fj), ("fetch_binary", t_fb), ("raw", raw)):
                figures[k].append(v)
            for k, v in uploads.items():
                figures[k].append(v)
            print(f"run {run + 1}: " + ", ".join(
                f"{k} {out_bytes / MIB / figures[k][-1]:.0f} MiB/s" for k in figures))
        print(f"{len(chunks)} chunks, {wire / MIB:.2f} MiB encoded (tiles and range proofs); "
              f"medians of {args.runs} runs, MiB/s of output:")
        raw = statistics.median(figures["raw"])
        for k, what in (("upload_json", "upload, submitjobchunk (hex JSON-RPC)"),
                        ("upload_binary", "upload, POST /chunk (bytes)"),
                        ("fetch_json", "fetch, getjobchunk (hex JSON-RPC)"),
                        ("fetch_binary", "fetch, GET /chunk/JOB/SLOT/TILE (bytes)"),
                        ("raw", "raw TCP over loopback, same runs")):
            med = statistics.median(figures[k])
            ratio = "" if k == "raw" else f", {med / raw:.0f}x raw TCP's time"
            print(f"  {what}: {med:.3f} s, {out_bytes / MIB / med:.1f} MiB/s{ratio}")
        print(f"  bytes over JSON: upload {statistics.median(figures['upload_json']) / statistics.median(figures['upload_binary']):.1f}x, "
              f"fetch {statistics.median(figures['fetch_json']) / statistics.median(figures['fetch_binary']):.1f}x faster")
    finally:
        for p in procs:
            try:
                p.kill9() if p.proc else None
            except Exception:
                pass
        if not args.dir and not os.environ.get("ASSAY_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept", workdir)


def slot(node, fw, job_id):
    try:
        return node.rpc("getjob", job_id)["slots"][0]
    except fw.RPCError:
        return {}  # not mined yet


if __name__ == "__main__":
    main()
