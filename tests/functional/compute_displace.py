"""A full live list (max_live_jobs) gives a place to the job that pays more
(docs/compute.md §1.3): with no worker to take them, two cheap jobs fill a
list of two; a third paying barely more is refused by the CLI's dry run
with the reason; one paying more than 10% above the cheapest displaces it,
the displaced job is refunded whole, and the submitter of the new one pays
only its own escrow."""

import time

import framework as fw

UNIT = 10**9
COMPUTE = {"max_live_jobs": 2, "min_bond": UNIT, "samples_k": 2}
SHAPE = ["--kind", "matmul-i8", "--m", "32", "--n", "24", "--k", "40", "--tile-rows", "8", "--tile-cols", "8",
         "--samples", "2"]


def submit(node, who, reward, seed, check=True):
    return node.cli("job", "submit", "--from", who, *SHAPE, "--seed", seed * 32, "--reward", str(reward),
                    check=check)


def wait_live(node, job_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            return node.rpc("getjob", job_id)
        except fw.RPCError:
            assert time.time() < deadline, f"job {job_id} never committed"
            time.sleep(0.2)


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "bob"], COMPUTE)
    first = submit(node, "alice", 2, "a1").stdout.split()[0]
    cheap = submit(node, "alice", 1, "a2").stdout.split()[0]
    wait_live(node, first)
    wait_live(node, cheap)
    node.wait_for_height(node.height() + 2)  # an end of block has picked the cheapest
    fw.assert_eq(len(node.rpc("listjobs")), 2, "the list is full")

    res = submit(node, "bob", "1.1", "b1", check=False)
    assert res.returncode != 0 and "only by paying more than 10% above it" in res.stderr, res.stderr

    h0 = node.height()
    bob_before = node.rpc("getaccount", addr["bob"])["balance"]
    alice_before = node.rpc("getaccount", addr["alice"])["balance"]
    cheap_job = node.rpc("getjob", cheap)
    back = cheap_job["escrow"] + cheap_job["check_escrow"]
    new = submit(node, "bob", 5, "b2").stdout.split()[0]
    job = wait_live(node, new)
    gone = node.rpc("getjob", cheap)
    fw.assert_eq(gone["state"], "refunded", "the cheapest job, displaced")
    fw.assert_eq(node.rpc("getjob", first)["state"], "open", "the job paying more keeps its place")
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], alice_before + back, "refunded whole")
    h = node.height()
    bob_fees = fw.fees_paid(node, addr["bob"], h0 + 1, h)
    fw.assert_eq(node.rpc("getaccount", addr["bob"])["balance"],
                 bob_before - job["escrow"] - job["check_escrow"] - bob_fees, "bob paid his own escrow and fees")

if __name__ == "__main__":
    fw.run(test)
