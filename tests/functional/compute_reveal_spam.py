"""Reveals that cannot succeed are refused, not mined as failures
(docs/compute.md §7.5, §10; protocol.md §5.2). A spammer that holds no slot
sends job_reveal transactions that would take the whole per-block reveal
budget (gas_limit = reveal_block_gas) at a fee above the honest worker's,
for the job while it is being computed and revealed, and for a job that
does not exist. Had they been mined as failed transactions, each block's
reveal budget would go to them and the honest reveal would wait until its
window closed. Every one is refused by the node's mempool, the spammer
pays nothing and its nonce never moves, the honest reveal lands, the
worker is paid and not slashed. Once the worker's reveal is mined, the same
reveal sent again from the worker (a new nonce) is refused too: a slot
takes one reveal."""

import os
import threading

import framework as fw

UNIT = 10**9
REVEAL_BLOCK_GAS = 100000  # one spam reveal's gas_limit fills it; the job's reveal needs ~1,200
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 25, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 25, "reveal_block_gas": REVEAL_BLOCK_GAS}
TX_JOB_REVEAL = 9
TX_WORKER_UNBOND = 6


def seed_of(node, name):
    return bytes.fromhex(node.cli("wallet", "export", name, "--seed", "--yes").stdout.strip())


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0", "mallory"], COMPUTE)
    chain_id = bytes.fromhex(node.rpc("getblockchaininfo")["genesis_hash"])
    mallory = seed_of(node, "mallory")
    m_before = node.rpc("getaccount", addr["mallory"])
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    stop = threading.Event()
    job = {}
    refused, accepted, codes = [], [], set()

    def spam():
        while not stop.is_set():
            # a job that does not exist, then the real one once its id is known
            job_id = job.get("id", os.urandom(32))
            payload = job_id + os.urandom(32) + b"\x00"  # any root, no tiles
            nonce = node.rpc("getaccount", addr["mallory"])["pending_nonce"]
            tx = fw.raw_tx(mallory, chain_id, nonce, 10**7 + REVEAL_BLOCK_GAS, REVEAL_BLOCK_GAS, TX_JOB_REVEAL,
                           payload)
            try:
                node.rpc("sendrawtransaction", tx)
                accepted.append(job_id.hex())
            except fw.RPCError as e:
                refused.append(("id" in job, e.message))
                codes.add(e.code)

    t = threading.Thread(target=spam)
    t.start()
    try:
        res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "32", "--n", "32",
                       "--k", "16", "--tile-rows", "8", "--tile-cols", "8", "--reward", "3", "--deadline", "60")
        job_id = res.stdout.split()[0]
        job["id"] = bytes.fromhex(job_id)
        # Nothing is challenged before the salt opens (or its window ends), so
        # holding the salt back until five spam reveals on this job have been
        # refused keeps the job in flight however slowly the spammer runs.
        fw.wait_until(lambda: sum(1 for on_job, _ in refused if on_job) >= 5, timeout=40, interval=0.05,
                      what="five spam reveals on the job refused")
        # the submitter opens its salt once the slot has committed (refused before)
        fw.wait_until(lambda: node.cli("job", "open", job_id, "--from", "alice", check=False).returncode == 0,
                      timeout=40, interval=0.5, what="salt opened")
        verified, _ = fw.wait_job(node, job_id, ("verified", "paid", "failed", "refunded"), timeout=60)
    finally:
        stop.set()
        t.join()
    fw.assert_eq(verified["state"], "verified", "the honest reveal landed and the output is up")
    # The worker's own reveal again, from a new nonce: the slot has revealed.
    slot = verified["slots"][0]
    mined = [tx for tx in node.rpc("getblock", slot["reveal_height"], 2)["txs"] if tx["kind"] == "job_reveal"]
    fw.assert_eq(len(mined), 1, "one reveal in the reveal's block")
    again = fw.raw_tx(seed_of(node, "w0"), chain_id, node.rpc("getaccount", addr["w0"])["pending_nonce"],
                      mined[0]["fee"], mined[0]["gas_limit"], TX_JOB_REVEAL, bytes.fromhex(mined[0]["payload"]["hex"]))
    fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", again, contains="nothing to reveal")

    final, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
    fw.assert_eq(accepted, [], "no spam reveal accepted")
    fw.assert_eq(codes, {-26}, "refused as transactions (docs/rpc.md sendrawtransaction)")
    for msg in ("no such job", "not assigned"):
        assert any(msg in m and "cannot succeed" in m for _, m in refused), (msg, refused[:5])
    assert sum(1 for on_job, _ in refused if on_job) >= 5, len(refused)
    fw.assert_eq(final["state"], "paid", "the job was paid")
    w = node.rpc("getworker", addr["w0"])
    fw.assert_eq((w["slashed_total"], w["jobs_done"]), (0, 1), "the honest worker not slashed, paid")
    m_after = node.rpc("getaccount", addr["mallory"])
    fw.assert_eq((m_after["balance"], m_after["nonce"]), (m_before["balance"], m_before["nonce"]),
                 "the spammer paid nothing, its nonce never moved")
    # Control: the same hand-made transactions do get in when their kind has
    # no such rule (a worker_unbond from a non-worker is mined, as a failure).
    txid = node.rpc("sendrawtransaction", fw.raw_tx(mallory, chain_id, m_after["nonce"], 10**6, 0, TX_WORKER_UNBOND,
                                                   b""))
    fw.wait_until(lambda: node.rpc("getaccount", addr["mallory"])["nonce"] == m_after["nonce"] + 1, timeout=20,
                  what=f"control transaction {txid} mined")


if __name__ == "__main__":
    fw.run(test)
