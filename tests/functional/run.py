"""Runs every functional test (feature_*.py, bft_*.py, rpc_*.py, wallet_*.py,
p2p_*.py, compute_*.py, contract_*.py, docs_*.py, protocol_*.py) as its own
process, two at a time, and prints
"functional: N passed, M failed, K skipped". A test that exits 77 (after a
"SKIP: reason" line; framework.skip) did not run what it tests and counts as
skipped, not passed. Usage: run.py [--build DIR] [NAME...]"""

import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys
import time

EXIT_SKIP = 77  # framework.EXIT_SKIP, automake's code for a skipped test

HERE = os.path.dirname(os.path.abspath(__file__))
PATTERNS = ["feature_*.py", "bft_*.py", "rpc_*.py", "wallet_*.py", "p2p_*.py", "compute_*.py", "contract_*.py", "docs_*.py", "protocol_*.py"]


def run_one(path, build, index):
    env = dict(os.environ)
    env["ASSAY_BUILD"] = build
    env["PYTHONPATH"] = HERE
    start = time.time()
    try:
        res = subprocess.run([sys.executable, path], capture_output=True, text=True, env=env, timeout=900)
        rc, out = res.returncode, res.stdout + res.stderr
    except subprocess.TimeoutExpired:
        rc, out = 1, "timed out after 900 s"
    return os.path.basename(path), rc, time.time() - start, out


def failure_excerpt(out, head=30, tail=60):
    """The lines of a failed test's output worth printing: its first lines
    (where framework.run puts the failed assertion, before the node logs) and
    its last (a traceback or the newest log lines)."""
    lines = out.splitlines()
    if len(lines) <= head + tail:
        return lines
    return lines[:head] + [f"... ({len(lines) - head - tail} lines left out)"] + lines[-tail:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    tests = sorted(p for pat in PATTERNS for p in glob.glob(os.path.join(HERE, pat)))
    if args.names:
        tests = [t for t in tests if any(n in os.path.basename(t) for n in args.names)]
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_one, t, os.path.abspath(args.build), i) for i, t in enumerate(tests)]
        for f in concurrent.futures.as_completed(futs):
            name, rc, secs, out = f.result()
            if rc == 0:
                passed += 1
                print(f"ok   {name} ({secs:.1f}s)")
            elif rc == EXIT_SKIP:
                skipped += 1
                reasons = [l[len("SKIP: "):] for l in out.splitlines() if l.startswith("SKIP: ")]
                print(f"skip {name} ({secs:.1f}s): {reasons[-1] if reasons else 'no reason given'}")
            else:
                failed += 1
                print(f"FAIL {name} ({secs:.1f}s)\n" + "\n".join("     " + l for l in failure_excerpt(out)))
            sys.stdout.flush()
    print(f"functional: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
