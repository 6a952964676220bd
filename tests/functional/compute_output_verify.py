"""`assay-cli job output --verify` (docs/cli.md): the job's record is
proven against a block's state_root instead of taken from the node's
getjob answer, so a node that lies about the spec cannot make an honest
output look wrong (and so lead its user into a dispute that forfeits the
dispute bond). Through a HostileNode that gives the job another seed in
getjob: without --verify the CLI checks the output against the lie and
calls it WRONG; with --verify it checks it against the proven record and
writes it; `job status --verify` refuses the lie, and `job dispute --verify`
finds nothing to dispute and sends nothing. A getproof answer the
hostile node alters, a --header-hash of
no block, and one of a block whose state is not the tip's, are refused."""

import os
import re

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": 10**9,
           "samples_k": 2, "upload_window": 10, "salt_window": 3}
SEED = "5e" * 32
LIED_SEED = "a1" * 32


def lie(method, params, result):
    if method == "getjob" and isinstance(result, dict) and result.get("seed") == SEED:
        return dict(result, seed=LIED_SEED, record=fw.job_record_with(result["record"], SEED, LIED_SEED))
    if method == "getproof" and isinstance(result, dict) and isinstance(result.get("value"), str) \
            and result.get("value").count(SEED) == 1 and lie.proofs:
        return dict(result, value=result["value"].replace(SEED, LIED_SEED))
    return result


lie.proofs = False


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    job_id = fw.submit_tiny_job(node, "--seed", SEED, "--wait")
    fw.assert_eq(node.rpc("getjob", job_id)["state"], "verified", "the job")
    out = os.path.join(tmpdir, "out.bin")

    # the honest node: --verify proves the record and writes the output
    res = node.cli("job", "output", job_id, "-o", out, "--verify")
    assert "job record verified against block " in res.stdout, res.stdout
    assert "full Freivalds test passed" in res.stdout, res.stdout
    res = node.cli("--json", "job", "output", job_id, "-o", out, "--verify")
    assert '"record_verified"' in res.stdout, res.stdout
    res = node.cli("job", "output", job_id, "-o", out, "--verify", "--header-hash", "00" * 32, check=False)
    fw.assert_eq(res.returncode, 1, "a header hash of no block")
    assert "block not found" in res.stderr, res.stderr
    res = node.cli("job", "output", job_id, "-o", out, "--verify", "--header-hash", node.rpc("getblockhash", 1),
                   check=False)
    fw.assert_eq(res.returncode, 1, "a block before the job")
    assert "getproof answers for the tip only" in res.stderr, res.stderr
    res = node.cli("job", "output", job_id, "-o", out, "--height", "1", check=False)
    fw.assert_eq(res.returncode, 2, "--height without --verify")
    res = node.cli("job", "status", job_id, "--verify")
    assert res.stdout.startswith("job record verified against block "), res.stdout
    assert re.search(r"^state:\s+(verified|paid)$", res.stdout, re.M), res.stdout

    hostile = fw.HostileNode(node, lie).start()
    try:
        via = f"-rpcport={hostile.port}"
        os.remove(out)
        res = node.cli(via, "job", "output", job_id, "-o", out, check=False)
        fw.assert_eq(res.returncode, 1, "the node's lie, believed")
        assert "is WRONG" in res.stderr, res.stderr
        assert not os.path.exists(out), "an output judged wrong is not written"

        res = node.cli(via, "job", "status", job_id, check=False)
        fw.assert_eq(res.returncode, 0, "job status believes the node without --verify")
        res = node.cli(via, "job", "status", job_id, "--verify", check=False)
        fw.assert_eq(res.returncode, 1, "job status --verify of the node's lie")
        assert "is not the record proven against block" in res.stderr, res.stderr

        res = node.cli(via, "job", "output", job_id, "-o", out, "--verify")
        assert "job record verified against block " in res.stdout, res.stdout
        assert "full Freivalds test passed" in res.stdout, res.stdout
        assert os.path.exists(out), "the output was written"
        assert hostile.calls.get("getproof"), "the CLI went through the hostile node"

        # a dispute checks the proven record's output too: nothing to
        # dispute, no transaction, no dispute bond forfeited to the lie
        res = node.cli(via, "job", "dispute", job_id, "--from", "alice", "--verify", check=False)
        fw.assert_eq(res.returncode, 1, "job dispute --verify of an honest output")
        assert "every committed output checks out: nothing to dispute" in res.stderr, res.stderr
        assert not [m for m, _ in hostile.requests if m == "sendrawtransaction"], "a dispute was sent"

        lie.proofs = True  # now the proven value is altered as well
        res = node.cli(via, "job", "output", job_id, "-o", out, "--verify", check=False)
        fw.assert_eq(res.returncode, 1, "an altered proof value")
        assert "does NOT verify" in res.stderr, res.stderr
    finally:
        hostile.stop()
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    print(f"job {job_id[:16]}: --verify checked the output against the proven record, not the node's lie")


if __name__ == "__main__":
    fw.run(test)
