#!/usr/bin/env python3
"""Benchmark: BFT finality on real assayd processes on loopback. For 1, 4
and 7 validators of equal stake (one -network=local genesis, every node
-addnode'd to every other), at the chain's default block time and at
250 ms: the block interval (from consecutive block timestamps), the
submit-to-final latency of single transfers (sendrawtransaction until
gettransaction says committed; a decided block is final), and at 250 ms the
transfers per second at saturation (a burst of pre-signed transfers spread
over the validators' RPC ports, from the first submit to the last commit),
each beside the single-validator figure of the same run. Transfers are
signed by bench/bench_bft (C). Prints; never fails.

Usage: bench_bft.py [--build DIR] [--blocks N] [--samples N] [--burst N] [--rounds N] [--sizes 1,4,7]"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "functional"))

import framework as fw  # noqa: E402

SENDERS = 1000  # burst round r sends from keys r*SENDERS..; latency samples from the key after the last round


def gen(*args):
    out = subprocess.run([os.path.join(fw.BUILD, "bench", "bench_bft")] + [str(a) for a in args],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}"


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def intervals(node, first, last):
    times = [node.rpc("getblock", h)["time_ms"] for h in range(first, last + 1)]
    return [(b - a) / 1000 for a, b in zip(times, times[1:])]


def latency(node, txs, blocktime_s, rng):
    out = []
    for raw in txs:
        time.sleep(rng.uniform(0, blocktime_s))  # a random moment within a height
        t0 = time.monotonic()
        txid = node.rpc("sendrawtransaction", raw)
        while node.rpc("gettransaction", txid)["status"] != "committed":
            time.sleep(0.005)
        out.append(time.monotonic() - t0)
    return out


def saturation(vals, txs, senders):
    """Submits txs (line i from sender i % senders) spread over the
    validators by sender, batches of 500 from one thread per node; returns
    (transfers per second from the first submit to the last commit,
    refused, committed, CPU microseconds per committed transfer per node:
    user + system time of every node over the burst, divided by the
    nodes and the transfers)."""
    watcher = vals[0]
    start_h = watcher.height()
    refused = [0]
    parts = [[] for _ in vals]
    for i, raw in enumerate(txs):
        parts[(i % senders) % len(vals)].append(raw)

    def submit(node, part):
        for k in range(0, len(part), 500):
            for r in node.rpc("sendrawtransactions", part[k:k + 500]):
                if "error" in r:
                    refused[0] += 1

    cpu0 = [fw.cpu_seconds(v.proc.pid) for v in vals]
    t0 = time.monotonic()
    threads = [threading.Thread(target=submit, args=(v, p)) for v, p in zip(vals, parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = len(txs) - refused[0]
    seen, h, t_last = 0, start_h, t0
    deadline = time.monotonic() + 300
    while seen < want and time.monotonic() < deadline:
        while h < watcher.height():
            h += 1
            seen += watcher.rpc("getblock", h)["ntx"]
            t_last = time.monotonic()
        time.sleep(0.02)
    cpu = sum(fw.cpu_seconds(v.proc.pid) - c for v, c in zip(vals, cpu0))
    rate = seen / (t_last - t0) if t_last > t0 else 0.0
    return rate, refused[0], seen, cpu / len(vals) / max(1, seen) * 1e6


def run_config(tmpdir, n, blocktime, args, rng, burst):
    nodes = []
    sub = tempfile.mkdtemp(prefix=f"v{n}-", dir=tmpdir)
    fund = gen("addresses", args.rounds * SENDERS + 1)
    try:
        vals, _ = fw.bft_network(sub, nodes, [100] * n, blocktime=blocktime, fund=fund,
                                 chain=f"assay-bench-bft-{n}")
        chain = vals[0].rpc("getblockchaininfo")["genesis_hash"]
        fw.same_chain_at(vals, 2, timeout=60)
        first = vals[0].height()
        fw.same_chain_at(vals, first + args.blocks, timeout=args.blocks * 30)
        iv = intervals(vals[0], first, first + args.blocks)
        lat_txs = gen("transfers", chain, 1, args.samples, args.rounds * SENDERS)
        lat = latency(vals[0], lat_txs, statistics.median(iv), rng)
        rounds = []
        if burst:
            for r in range(args.rounds):
                txs = gen("transfers", chain, SENDERS, max(1, args.burst // SENDERS), r * SENDERS)
                rounds.append(saturation(vals, txs, SENDERS))
        fw.chain_agreement(vals)
        return iv, lat, rounds
    finally:
        for v in nodes:
            v.kill9()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--blocks", type=int, default=10, help="block intervals measured per configuration")
    ap.add_argument("--samples", type=int, default=8, help="latency samples per configuration")
    ap.add_argument("--burst", type=int, default=20000, help="transfers in the saturation burst")
    ap.add_argument("--rounds", type=int, default=3, help="saturation bursts per configuration")
    ap.add_argument("--sizes", default="1,4,7")
    args = ap.parse_args()
    if args.build:
        fw.BUILD = os.path.abspath(args.build)
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(1)
    print(f"bench_bft: {machine()}; validators {sizes}; {args.blocks} intervals, {args.samples} latency "
          f"samples, {args.rounds} bursts of {args.burst} transfers from {SENDERS} senders at 250 ms", flush=True)
    tmpdir = tempfile.mkdtemp(prefix="assay-bench-bft-")
    rates = {}
    for blocktime in (None, 250):
        for n in sizes:
            try:
                iv, lat, rounds = run_config(tmpdir, n, blocktime, args, rng, burst=blocktime == 250)
            except (AssertionError, OSError, fw.RPCError, subprocess.CalledProcessError) as e:
                print(f"  {n} validators, block time {blocktime or 'default'}: failed: {e}", flush=True)
                continue
            line = (f"  {n} validator{'s' if n > 1 else ' '} block time {str(blocktime or 'default'):>7}: "
                    f"interval median {statistics.median(iv):.3f} s [p10 {pct(iv, 0.1):.3f}, p90 {pct(iv, 0.9):.3f}]"
                    f"  submit-to-final median {statistics.median(lat):.3f} s [{min(lat):.3f}, {max(lat):.3f}]")
            if rounds:
                tps = [r[0] for r in rounds]
                cpu = statistics.median(r[3] for r in rounds)
                rate = statistics.median(tps)
                rates[n] = (rate, cpu)
                line += (f"\n      saturation median {rate:.0f} tx/s [{min(tps):.0f}, {max(tps):.0f}] over "
                         f"{len(rounds)} bursts ({sum(r[2] for r in rounds)} committed, "
                         f"{sum(r[1] for r in rounds)} refused), {cpu:.0f} us CPU per transfer per node")
                if 1 in rates and n != 1:
                    line += (f"\n      = {rate / rates[1][0]:.2f}x the 1-validator rate; {n} x rate = "
                             f"{n * rate / rates[1][0]:.2f}x; CPU per node {cpu / rates[1][1]:.2f}x 1 validator's")
            print(line, flush=True)
    shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
