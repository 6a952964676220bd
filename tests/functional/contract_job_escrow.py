"""The job escrow (vm/contracts/job_escrow.asm) end to end on a local compute
chain with a real assay-worker: `job spec` writes the job payload, a buyer
deploys the escrow with init(provider) || @payload and a value above the
reward, and the contract submits the job (its id in the JobFunded event).
One escrow's job gets no worker and expires: settle before that is refused
with nothing changed, settle after it refunds the buyer everything. The
other's job is first drawn to a cheating worker, caught by the spot check
and slashed (half of the slash comes back to the contract, the job's
submitter), then redrawn to an honest worker, verified and paid; the buyer
opens the job's salt with `job open --salt`. settle is refused while the job
is only verified (still disputable), then pays the provider its due (value -
reward - the checking fees priced at submit) and the buyer, who funded the
job, everything else: the slash compensation and the unspent checking fees.
`contract query status` reports each state; every balance is exact, and the
block producer earns exactly the fees."""

import hashlib
import json
import os

import framework as fw

UNIT = 10**9
DEPLOY_FEE = 1000 + 2000000  # min_fee + default deploy gas x gas_price
CALL_FEE = 1000 + 1000000    # min_fee + default call gas x gas_price
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 25, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 6}
HERE = os.path.dirname(os.path.abspath(__file__))
JOB_ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "job_escrow.asm")
ACTIVE, PAID, REFUNDED = 0, 1, 2


def balance(node, addr):
    return node.rpc("getaccount", addr)["balance"]


def status(node, contract):
    """job_escrow.status(): buyer provider job_id state balance (88 bytes)."""
    q = node.cli_json("contract", "query", contract, "status")
    assert q["ok"], q
    raw = bytes.fromhex(q["return"])
    fw.assert_eq(len(raw), 88, "status length")
    word = lambda o: int.from_bytes(raw[o:o + 8], "little")
    return {"buyer": raw[0:20], "provider": raw[20:40], "job_id": raw[40:72].hex(),
            "state": word(72), "balance": word(80)}


def job_spec(node, tmpdir, name, *opts):
    path = os.path.join(tmpdir, name)
    out = node.cli_json("job", "spec", "--kind", "matmul-i8", "--m", "32", "--n", "32", "--k", "16",
                        "--tile-rows", "8", "--tile-cols", "8", "--samples", "2", *opts, "-o", path)
    with open(path, "rb") as f:
        payload = f.read()
    fw.assert_eq(payload.hex(), out["payload"], "job spec file and printed payload")
    fw.assert_eq(out["bytes"], len(payload), "job spec size")
    return path, out


def deploy(node, provider, payload_path, value):
    out = node.cli_json("contract", "deploy", "--from", "buyer", JOB_ESCROW, "--value", value,
                        "--wait", "--args", provider, "@" + payload_path)
    assert out["ok"], out
    fw.assert_eq(out["fee"], DEPLOY_FEE, "deploy fee")
    fw.assert_eq([e.get("name") for e in out["events"]], ["JobFunded"], "deploy events")
    ev = out["events"][0]
    fw.assert_eq(ev["contract"], out["contract"], "JobFunded emitter")
    fw.assert_eq(ev["words"], [int(float(value) * UNIT)], "JobFunded value")
    return out["contract"], ev["job_id"], out["height"]


def settle(node, who, contract, check=True):
    # A settle expected to fail (check=False) is sent with --force: the CLI
    # would refuse it after its dry run, and the test is of the receipt.
    force = () if check else ("--force",)
    res = node.cli("--json", "contract", "call", "--from", who, contract, "settle", "--wait",
                   *force, check=check)
    out = json.loads(res.stdout)
    fw.assert_eq(out["fee"], CALL_FEE, "settle fee")
    return res.returncode, out


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["buyer", "provider", "w0", "w1"], COMPUTE)
    h_start = node.height()
    funds = {name: balance(node, a) for name, a in addr.items()}
    buyer, provider = funds["buyer"], funds["provider"]
    fees = 0

    # Escrow R: the job never gets a worker (none is registered yet) and
    # expires after the least deadline the chain allows (commit 10 + reveal
    # 5 + salt 6 + two challenge delays of 2 + upload 5 + 2 blocks).
    r_path, r_spec = job_spec(node, tmpdir, "r.bin", "--reward", "2", "--deadline", "32",
                              "--seed", "11" * 32)
    fw.assert_eq((r_spec["reward"], r_spec["deadline_blocks"], r_spec["tiles"]), (2 * UNIT, 32, 16), "spec R")
    e_r, job_r, _ = deploy(node, "provider", r_path, "3")
    buyer -= 3 * UNIT + DEPLOY_FEE
    fees += DEPLOY_FEE
    job = node.rpc("getjob", job_r)
    fw.assert_eq(job["submitter"], e_r, "the contract submitted the job")
    fw.assert_eq((job["reward"], job["escrow"]), (2 * UNIT, 2 * UNIT), "job R escrow")
    check_r = job["check_escrow"]
    assert 0 < check_r < UNIT // 1000, job  # the checking fees, priced at submit
    fw.assert_eq(balance(node, e_r), UNIT - check_r, "escrow R keeps value - reward - checking")
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer after deploy R")
    st = status(node, e_r)
    fw.assert_eq((st["state"], st["balance"], st["job_id"]), (ACTIVE, UNIT - check_r, job_r), "status R active")
    assert st["buyer"] != st["provider"], st

    # settle while the job is open: refused, only the caller's fee spent.
    rc, out = settle(node, "provider", e_r, check=False)
    fw.assert_eq(rc, 1, "early settle exit status")
    assert not out["ok"] and "job not finished" in out["error"], out
    fw.assert_eq(out["events"], [], "no events from a refused settle")
    provider -= CALL_FEE
    fees += CALL_FEE
    fw.assert_eq(balance(node, addr["provider"]), provider, "provider pays only the fee")
    fw.assert_eq(balance(node, e_r), UNIT - check_r, "escrow R untouched")
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer untouched")
    fw.assert_eq(status(node, e_r)["state"], ACTIVE, "escrow R still active")

    job, seen = fw.wait_job(node, job_r, ("refunded", "paid", "failed"), timeout=60)
    fw.assert_eq(job["state"], "refunded", "job R expired")
    fw.assert_eq(balance(node, e_r), 3 * UNIT, "the reward came back to the contract")
    fw.assert_eq(status(node, e_r)["balance"], 3 * UNIT, "status R balance")
    rc, out = settle(node, "provider", e_r)
    fw.assert_eq([e.get("name") for e in out["events"]], ["Refunded"], "refund event")
    fw.assert_eq(out["events"][0]["words"], [3 * UNIT], "refunded amount")
    provider -= CALL_FEE
    fees += CALL_FEE
    buyer += 3 * UNIT
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer refunded the whole value")
    fw.assert_eq(balance(node, e_r), 0, "escrow R empty")
    fw.assert_eq(status(node, e_r)["state"], REFUNDED, "escrow R refunded")
    rc, out = settle(node, "buyer", e_r, check=False)
    assert rc == 1 and not out["ok"] and "job escrow already settled" in out["error"], out
    buyer -= CALL_FEE
    fees += CALL_FEE

    # Escrow P: 7 ASY for a 5 ASY job. A cheating worker is drawn first.
    p_path, p_spec = job_spec(node, tmpdir, "p.bin", "--reward", "5", "--deadline", "200", "--seed", "22" * 32)
    cheat = fw.Worker(node, "w1", 1, ["-bond=100", "-corrupt-fraction=1"])
    cheat.start()
    e_p, job_p, _ = deploy(node, addr["provider"], p_path, "7")
    buyer -= 7 * UNIT + DEPLOY_FEE
    fees += DEPLOY_FEE
    assert e_p != e_r and job_p != job_r
    check_p = node.rpc("getjob", job_p)["check_escrow"]
    due = 2 * UNIT - check_p
    fw.assert_eq(balance(node, e_p), due, "escrow P keeps value - reward - checking")
    fw.assert_eq(status(node, e_p)["job_id"], job_p, "status P job id")

    # The buyer opens the salt (its hash is in the payload) once the slot
    # has committed; every tile of the cheater's output is wrong, so the
    # spot check catches it: half of its slash (the job's whole lock, the
    # 5 ASY reward) goes to the submitter, the contract.
    fw.wait_until(lambda: node.rpc("getjob", job_p)["sealed_height"] is not None, 30, "the cheater's commit")
    node.cli("job", "open", job_p, "--from", "buyer", "--salt", p_spec["salt"], "--wait")
    open_fee = fw.fees_paid(node, addr["buyer"], h_start + 1, node.height(), kind="job_salt")
    assert open_fee > 0
    fees += open_fee
    buyer -= open_fee
    job = node.rpc("getjob", job_p)
    fw.assert_eq(job["salt"], p_spec["salt"], "salt opened")
    fw.wait_until(lambda: addr["w1"] in node.rpc("getjob", job_p)["excluded"], 30, "the cheater caught")
    w1 = node.rpc("getworker", addr["w1"])
    fw.assert_eq((w1["slashed_total"], w1["jobs_failed"]), (5 * UNIT, 1), "cheater slashed its lock")
    compensation = 5 * UNIT // 2
    fw.assert_eq(balance(node, e_p), due + compensation, "compensation to the contract")
    node.cli("worker", "unbond", "--from", "w1", "--wait")
    fw.assert_eq(cheat.stop(), 0, "cheater exits cleanly")
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    # Verified is not final (a dispute can still fail the job until its
    # payout height): settle then is refused as well.
    job, _ = fw.wait_job(node, job_p, ("verified", "paid", "failed", "refunded"), timeout=90)
    fw.assert_eq(job["state"], "verified", "job P verified")
    rc, out = settle(node, "provider", e_p, check=False)
    assert out["height"] <= job["payout_height"], (out, job["payout_height"])
    assert rc == 1 and not out["ok"] and "job not finished" in out["error"], out
    provider -= CALL_FEE
    fees += CALL_FEE
    fw.assert_eq(balance(node, e_p), due + compensation, "escrow P untouched while verified")
    fw.assert_eq(status(node, e_p)["state"], ACTIVE, "escrow P active while verified")

    job, _ = fw.wait_job(node, job_p, ("paid", "failed", "refunded"), timeout=60)
    fw.assert_eq(job["state"], "paid", "job P paid")
    fw.assert_eq(job["slots"][0]["worker"], addr["w0"], "computed by w0")
    h_paid = node.height()
    w0_reveal = fw.fees_paid(node, addr["w0"], h_start + 1, h_paid, kind="job_reveal")
    unspent = check_p - w0_reveal  # the cheater's reveal was not paid back
    fw.assert_eq(balance(node, e_p), due + compensation + unspent, "escrow P before settle")
    rc, out = settle(node, "buyer", e_p)
    fw.assert_eq([e.get("name") for e in out["events"]], ["Paid"], "paid event")
    fw.assert_eq(out["events"][0]["words"], [due], "paid amount: the provider's due")
    buyer -= CALL_FEE
    fees += CALL_FEE
    provider += due
    buyer += compensation + unspent
    fw.assert_eq(balance(node, addr["provider"]), provider, "provider paid its due, no slash share")
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer got the compensation and the unspent checking")
    fw.assert_eq(balance(node, e_p), 0, "escrow P empty")
    st = status(node, e_p)
    fw.assert_eq((st["state"], st["balance"]), (PAID, 0), "escrow P paid")

    # The worker earned the reward less its own fees, its reveal paid back;
    # the producer every fee.
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    h_end = node.height()
    worker_fees = fw.fees_paid(node, addr["w0"], h_start + 1, h_end)
    cheat_fees = fw.fees_paid(node, addr["w1"], h_start + 1, h_end)
    bond = node.rpc("getworker", addr["w0"])["bond"]
    fw.assert_eq(balance(node, addr["w0"]), funds["w0"] - bond + 5 * UNIT - worker_fees + w0_reveal, "worker paid")
    fw.assert_eq(fw.fees_paid(node, addr["buyer"], h_start + 1, h_end) +
                 fw.fees_paid(node, addr["provider"], h_start + 1, h_end), fees, "fees on chain")
    proposer = bytes.fromhex(node.rpc("getblock", h_end)["proposer"])
    producer = fw.bech32m_address("dassay", hashlib.sha256(proposer).digest()[:20])
    fw.assert_eq(balance(node, producer), fees + worker_fees + cheat_fees, "the producer earned every fee")
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer total")


if __name__ == "__main__":
    fw.run(test)
