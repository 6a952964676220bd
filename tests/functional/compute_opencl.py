"""assay-worker -backend=opencl (docs/compute.md §11, §13): a matmul-i8 job
of odd sizes (no side a multiple of the kernel's 16 x 16 work groups) is
computed by the OpenCL kernel, passes the chain's spot-check and is paid,
and the client's full Freivalds test passes on its output. Where
assay-worker was built without OpenCL, or no OpenCL device opens, the test
prints "SKIP: reason" and exits 77, which run.py counts as skipped (as
test_compute_opencl skips under make check)."""

import subprocess

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 20, "reveal_window": 10, "upload_window": 10, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 4}


def test(tmpdir, nodes):
    usage = subprocess.run([fw.binary("assay-worker"), "-help"], capture_output=True, text=True).stdout
    if "this build has no OpenCL" in usage:
        fw.skip("assay-worker was built without OpenCL (configure found no OpenCL headers and ICD loader)")
    assert "this build has OpenCL" in usage, usage

    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100", "-backend=opencl"])
    try:
        nodes.append(worker.start())
    except AssertionError:
        if "opencl backend:" in worker.tail(20):
            line = [l for l in worker.tail(20).splitlines() if "opencl backend:" in l][-1]
            fw.skip(f"no OpenCL device opens here ({line.split('opencl backend:')[1].strip()})")
        raise
    assert "opencl backend on " in worker.tail(20), worker.tail(20)
    fw.assert_eq(node.rpc("getworker", addr["w0"])["backend"], "opencl", "registered backend")

    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "57", "--n", "43",
                   "--k", "101", "--tile-rows", "16", "--tile-cols", "16", "--samples", "4",
                   "--seed", "5a" * 32, "--reward", "2", "--wait", "--timeout", "120")
    job_id = res.stdout.split()[0]
    assert "state:      verified" in res.stdout, res.stdout
    assert "computed matmul-i8 57x43x101 on opencl" in worker.tail(40), worker.tail(40)
    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"))
    fw.assert_eq(job["state"], "paid", "final state")
    fw.assert_eq(node.rpc("getworker", addr["w0"])["slashed_total"], 0, "nothing slashed")

    res = node.cli("job", "output", job_id, "-o", f"{tmpdir}/out.bin")
    assert "full Freivalds test passed" in res.stdout, res.stdout
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")


if __name__ == "__main__":
    fw.run(test)
