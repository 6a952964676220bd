"""A worker holds every fee it signs to -maxfee (docs/compute.md §10 "A
hostile node", §13): the fee rule is the node's word. The worker talks to a
HostileNode that says the chain's gas_price is 10^9 (it is 1), so the fee
of a reveal, which pays the floor exactly (min_fee + gas × gas_price), would
be thousands of ASY, and the real chain would take such a reveal. The worker
still registers and commits (their fees do not grow with gas_price), then
refuses to sign the reveal above the default -maxfee of 10 ASY and says so:
no job_reveal of it reaches the chain, and it paid no more than small fees.
A second worker whose -maxfee is below even a registration's fee refuses to
register and exits."""

import os
import time

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 3, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}
FAKE_GAS_PRICE = 10**9


def lie(method, params, result):
    if method == "getchainparams":
        result = dict(result, gas_price=FAKE_GAS_PRICE)
    return result


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)
    hostile = fw.HostileNode(node, lie).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node)
        fw.wait_until(lambda: "more than -maxfee=10.000000000 ASY: not signed" in w0.tail(200), timeout=60,
                      what="the worker's refusal of the reveal's fee")
        assert "job_reveal" in w0.tail(200), w0.tail(20)
        job = node.rpc("getjob", job_id)
        challenged = job["slots"][0]["challenge_height"]
        assert challenged, job
        node.wait_for_height(challenged + COMPUTE["reveal_window"] + 2)
        job = node.rpc("getjob", job_id)
        assert job["slots"][0]["state"] != "verified", job
        tip = node.height()
        fw.assert_eq(fw.fees_paid(node, addr["w0"], 1, tip, kind="job_reveal"), 0, "no reveal signed")
        spent = fw.fees_paid(node, addr["w0"], 1, tip)
        assert 0 < spent < 10**9, f"w0 paid {spent} units of fees (register and commit only)"

        # -maxfee below a registration's fee (0.0001 ASY): nothing signed
        w1 = fw.Worker(node, "w1", 1, ["-bond=100", "-maxfee=0.00001"])
        w1.start(wait_registered=False)
        fw.assert_eq(w1.proc.wait(timeout=30), 1, "w1 exits")
        assert "worker_register, more than -maxfee=0.000010000 ASY: not signed" in w1.tail(20), w1.tail(20)
        try:
            status = node.rpc("getworker", addr["w1"])["status"]
        except fw.RPCError:
            status = None
        assert status != "active", status
    finally:
        hostile.stop()
    print(f"reveal refused above -maxfee; w0 paid {spent} units in fees")


if __name__ == "__main__":
    fw.run(test)
