"""Censoring a reveal gains nothing and costs the honest worker nothing
(docs/compute.md §6.4, §10). The submitter censors, through an account of
its own (so that the censoring deploys and the salt that `job submit
--wait` posts never race for one account's next nonce): from the submit on
(once mined: a job_submit pays gas for its record, so it would compete for
the block gas as well) it keeps one high-fee deploy in the mempool for every block, each with a gas
limit of the whole block (max_block_gas here is 2,000,000, a deploy's
default gas), so no block has ordinary gas left for anything that needs
some. Reveals do not compete for that gas: they have their own per-block
budget (reveal_block_gas), so the worker's reveal is mined, the worker is
never slashed and is paid, and the submitter is down the reward, its fees
and the reveal it paid for, the censoring account down its fees, and
nothing comes back to either. (Before, the
reveal found no room, the worker lost half its bond for a missed reveal and
half of that went to the censor.)"""

import os
import subprocess
import threading

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 4, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3}
PARAMS = {"max_block_gas": 2000000}
HERE = os.path.dirname(os.path.abspath(__file__))
ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "escrow.asm")


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "censor"], COMPUTE, params=PARAMS)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    h0 = node.height()
    a_before = node.rpc("getaccount", addr["alice"])["balance"]
    c_before = node.rpc("getaccount", addr["censor"])["balance"]

    stop = threading.Event()
    sent = []

    n0 = node.rpc("getaccount", addr["alice"])["nonce"]

    def censor():
        # from the job's submit on: a job_submit pays gas for its record
        # (protocol.md §5.2), so it would compete for the block gas too
        while not stop.is_set() and node.rpc("getaccount", addr["alice"])["nonce"] == n0:
            fw.time.sleep(0.02)
        while not stop.is_set():
            pending = node.rpc("getmempoolinfo")["size"]
            if pending >= 3:
                fw.time.sleep(0.02)
                continue
            res = node.cli("contract", "deploy", "--from", "censor", ESCROW, "--value", "0.000000001",
                           "--fee", "0.05", "--args", addr["w0"], addr["w0"], "100000", check=False)
            sent.append(res.returncode)

    t = threading.Thread(target=censor)
    t.start()
    try:
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32", "--n", "32",
                       "--k", "16", "--tile-rows", "8", "--tile-cols", "8", "--reward", "3", "--deadline", "60",
                       "--wait", "--timeout", "60", check=False)
        job_id = res.stdout.split()[0]
        job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
    finally:
        stop.set()
        t.join()

    def settled():  # the last censoring deploy mined (or none left): the balances below are final
        a = node.rpc("getaccount", addr["censor"])
        return a["nonce"] == a["pending_nonce"]

    fw.wait_until(settled, timeout=30, what="the censor's last deploy mined")
    fw.assert_eq(job["state"], "paid", "the censored job was paid")
    slot = job["slots"][0]
    # Every block of the challenge's reveal window was full of ordinary gas.
    full = 0
    for h in range(slot["challenge_height"] + 1, slot["reveal_height"] + 1):
        txs = node.rpc("getblock", h, 2)["txs"]
        gas = sum(tx["gas_limit"] for tx in txs if tx.get("kind") != "job_reveal")
        full += gas == PARAMS["max_block_gas"]
    fw.assert_eq(full, slot["reveal_height"] - slot["challenge_height"], "blocks full while the reveal waited")
    assert sent.count(0) >= 3, sent
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq((w["slashed_total"], w["jobs_done"]), (0, 1), "the honest worker not slashed, paid")
    h1 = node.height()
    reveal_fee = fw.fees_paid(node, addr["w0"], h0 + 1, h1, kind="job_reveal")
    a_fees = fw.fees_paid(node, addr["alice"], h0 + 1, h1)
    c_fees = fw.fees_paid(node, addr["censor"], h0 + 1, h1)
    # each censoring deploy also left its 1-unit value in its escrow contract
    deploys = sum(1 for h in range(h0 + 1, h1 + 1) for tx in node.rpc("getblock", h, 2)["txs"]
                  if tx["sender"] == addr["censor"] and tx.get("kind") == "deploy")
    fw.assert_eq(node.rpc("getaccount", addr["alice"])["balance"], a_before - 3 * UNIT - a_fees - reveal_fee,
                 "the submitter gained nothing")
    fw.assert_eq(node.rpc("getaccount", addr["censor"])["balance"], c_before - c_fees - deploys,
                 "the censor gained nothing")


if __name__ == "__main__":
    fw.run(test)
