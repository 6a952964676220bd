"""A worker holds every fee it signs to -maxfee (docs/compute.md §10 "A
hostile node", §13): the fee rule is the node's word. The worker talks to a
HostileNode that says the chain's gas_price is 10^9 (it is 1), so the fee
of a reveal, which pays the floor exactly (min_fee + gas × gas_price), would
be thousands of ASY, and the real chain would take such a reveal. The worker
still registers and commits (their fees do not grow with gas_price), then
refuses to sign the reveal above the default -maxfee of 10 ASY and says so,
once, naming -maxfee as the operator's way out, however many blocks pass
with the same fee asked: no job_reveal of it reaches the chain, and it paid
no more than small fees. When the node names the true gas_price again
inside the reveal window, the worker signs the reveal and the job is paid.
A second worker whose -maxfee is below even a registration's fee refuses to
register and exits."""

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 20, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}
FAKE_GAS_PRICE = 10**9
REFUSAL = "for a job_reveal, more than -maxfee=10.000000000 ASY: not signed"
QUIET_BLOCKS = 6  # blocks the refusal must not be logged again in


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "w1"], COMPUTE)
    inflate = [True]

    def lie(method, params, result):
        if method == "getchainparams" and inflate[0]:
            result = dict(result, gas_price=FAKE_GAS_PRICE)
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        w0 = fw.worker_behind(node, hostile, nodes)
        job_id = fw.submit_tiny_job(node)
        fw.wait_until(lambda: REFUSAL in w0.tail(200), timeout=60, what="the worker's refusal of the reveal's fee")
        refused_at = node.height()
        job = node.rpc("getjob", job_id)
        challenged = job["slots"][0]["challenge_height"]
        assert challenged, job
        assert refused_at + QUIET_BLOCKS < challenged + COMPUTE["reveal_window"], "no room left in the window"
        node.wait_for_height(refused_at + QUIET_BLOCKS)
        log = open(w0.log_path(), errors="replace").read()
        refusals = [line for line in log.splitlines() if REFUSAL in line]
        fw.assert_eq(len(refusals), 1, f"the refusal said once over {QUIET_BLOCKS} blocks")
        assert "raise -maxfee" in refusals[0], refusals[0]
        assert job_id[:16] in refusals[0], refusals[0]
        job = node.rpc("getjob", job_id)
        fw.assert_eq(job["slots"][0]["state"], "challenged", "no reveal while the fee is refused")
        tip = node.height()
        fw.assert_eq(fw.fees_paid(node, addr["w0"], 1, tip, kind="job_reveal"), 0, "no reveal signed")
        spent = fw.fees_paid(node, addr["w0"], 1, tip)
        assert 0 < spent < 10**9, f"w0 paid {spent} units of fees (register and commit only)"

        # the node's fee rule falls back under -maxfee: the reveal goes through in its window
        inflate[0] = False
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
        fw.assert_eq(job["state"], "paid", "paid once the fee is the chain's again")
        slot = job["slots"][0]
        assert slot["reveal_height"] <= challenged + COMPUTE["reveal_window"], slot
        revealed = fw.fees_paid(node, addr["w0"], 1, node.height(), kind="job_reveal")
        assert 0 < revealed < 10**10, f"the reveal paid {revealed} units"

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
    print(f"reveal refused once above -maxfee, sent once the fee fell back; w0 paid {spent} units before")


if __name__ == "__main__":
    fw.run(test)
