"""The e2e runner's small manifest (tests/e2e/manifests/small.json, docs/e2e.md)
on real processes: four validators, a follower and a compute worker on it,
under a transfer load and a small job every few seconds; kill -9, pause,
restart and disconnect one validator at a time (the chain goes on, the
validator comes back and signs again), the worker killed -9, one killed -9 three
times at random moments, two of four killed (no commit, no fork, then it
resumes); at the end every node holds the same hash and state root at
every height, the worker is active on every node, the jobs were paid, and
no node saw a validator sign two conflicting votes. Then
the feature manifest: its steps run where the build has the feature and
are reported as skipped where it does not."""

import os
import sys

import framework as fw

E2E = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e")
sys.path.insert(0, E2E)

import runner  # noqa: E402


def test(tmpdir, nodes):
    results = runner.run_manifest(os.path.join(E2E, "manifests", "small.json"), tmpdir, nodes)
    assert [r for _, r in results] == ["ok"] * 7, results
    for n in list(nodes):
        n.kill9()
    nodes.clear()
    results = runner.run_manifest(os.path.join(E2E, "manifests", "features.json"), tmpdir, nodes)
    for label, r in results:
        assert r == "ok" or r.startswith("skipped: feature missing"), (label, r)


if __name__ == "__main__":
    fw.run(test)
