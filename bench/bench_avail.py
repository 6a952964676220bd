#!/usr/bin/env python3
"""Output availability throughput (docs/compute.md §15, docs/benchmarks.md):
a 64 MiB matmul-i8 output (4096 x 4096 int32) on a one-node local chain on
loopback. Prints three figures in the same run: the worker's upload (from
its root on chain to every tile uploaded: submitjobchunk of each 1 MiB
chunk, then job_chunks transactions at chunk_budget_bytes a block), the
fetch of the whole output with getjobchunk over JSON-RPC, and a raw TCP
transfer of 64 MiB over loopback as the reference. Never fails on time.

Usage: python3 bench/bench_avail.py [--build DIR] [--blocktime MS]"""

import argparse
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1 << 20


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--blocktime", type=int, default=200)
    args = ap.parse_args()
    os.environ["ASSAY_BUILD"] = os.path.abspath(args.build)
    sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))
    import framework as fw

    unit = 10**9
    compute = {"commit_window": 40, "reveal_window": 40, "upload_window": 40, "dispute_window": 4,
               "min_bond": unit, "samples_k": 2}
    tmpdir = tempfile.mkdtemp(prefix="assay-bench-avail-")
    nodes = []
    try:
        node, _ = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], compute, blocktime=args.blocktime)
        worker = fw.Worker(node, "w0", 0, ["-bond=100"])
        nodes.append(worker.start())
        params = node.rpc("getcomputeparams")
        m = n = 4096
        out_bytes = m * n * 4
        print(f"bench_avail: {out_bytes // MIB} MiB output ({m}x{n} int32, 64x64 tiles), blocks every "
              f"{args.blocktime} ms, chunk_budget_bytes {params['chunk_budget_bytes'] // MIB} MiB, "
              f"{os.cpu_count()} CPUs")
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", str(m), "--n", str(n),
                       "--k", "16", "--tile-rows", "64", "--tile-cols", "64", "--samples", "2",
                       "--seed", "55" * 32, "--reward", "1", "--deadline", "400")
        job_id = res.stdout.split()[0]
        t_root = t_done = None
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                slot = node.rpc("getjob", job_id)["slots"][0]
            except fw.RPCError:
                slot = {}  # not mined yet
            now = time.perf_counter()
            if t_root is None and slot.get("root"):
                t_root = now
            if t_root is not None and slot.get("uploaded_tiles", 0) >= 4096:
                t_done = now
                break
            time.sleep(0.02)
        assert t_done, "upload did not finish"
        up = t_done - t_root
        print(f"upload (root on chain -> all tiles uploaded): {up:.2f} s, {out_bytes / MIB / up:.1f} MiB/s")

        t0 = time.perf_counter()
        first, total = 0, 0
        while first < 4096:
            r = node.rpc("getjobchunk", job_id, 0, first)
            total += len(r["chunk"]) // 2
            first = r["next_tile"]
        fetch = time.perf_counter() - t0
        print(f"fetch (getjobchunk, {total / MIB:.1f} MiB of chunks as hex JSON): {fetch:.2f} s, "
              f"{out_bytes / MIB / fetch:.1f} MiB/s")

        t0 = time.perf_counter()
        path = os.path.join(tmpdir, "out.bin")
        node.cli("job", "output", job_id, "-o", path)
        cli = time.perf_counter() - t0
        print(f"assay-cli job output (fetch + Merkle root + full Freivalds check): {cli:.2f} s, "
              f"{out_bytes / MIB / cli:.1f} MiB/s")

        raw = raw_tcp(out_bytes)
        print(f"raw TCP over loopback, same run: {raw:.3f} s, {out_bytes / MIB / raw:.0f} MiB/s")
        print(f"ratios to raw TCP: upload {up / raw:.0f}x, fetch {fetch / raw:.0f}x slower")
    finally:
        for p in nodes:
            try:
                p.kill9() if p.proc else None
            except Exception:
                pass
        import shutil
        if not os.environ.get("ASSAY_KEEP_TMP"):
            shutil.rmtree(tmpdir, ignore_errors=True)
        else:
            print("kept", tmpdir)


if __name__ == "__main__":
    main()
