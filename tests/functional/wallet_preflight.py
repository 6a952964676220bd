"""The wallet never loses money by mistake: simulatetransaction's dry run
(a good transfer, a bad nonce, insufficient funds, a pending predecessor,
malformed hex, nothing written), and every sending command of assay-cli
refusing a doomed transaction with the reason and no fee charged, unless
--force, which sends it so that it fails on chain with "failed" and exit 1:
send, job submit below min_reward, worker register below min_bond, worker
unbond of a non-worker, job dispute of a correct tile. Also: human tx status
names recipient, amount and confirmations; amounts read in ASY; docs/cli.md's
job spec example runs on a dev chain; assay-worker refuses a -bond below
min_bond and names an unknown -wallet before asking for a passphrase."""

import os
import subprocess

import framework as fw

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 150, "min_bond": 100 * UNIT,
           "min_reward": 1000000, "samples_k": 2}


def account(node, address):
    a = node.rpc("getaccount", address)
    return a["balance"], a["nonce"]


def refused(res, *reasons):
    """A refusal: exit 1, the word refused, each reason, nothing sent."""
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "refused" in res.stderr and "no fee was charged" in res.stderr, res.stderr
    for r in reasons:
        assert r in res.stderr, (r, res.stderr)


def forced_failure(res, *reasons):
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    text = res.stdout + res.stderr
    assert "failed" in text and "--force: sending it anyway" in res.stderr, text
    for r in reasons:
        assert r in text, (r, text)


def dev_chain_part(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "erin")
    node.cli("wallet", "create", "pauper")
    dev = node.cli("wallet", "address", "dev").stdout.strip()
    erin = node.cli("wallet", "address", "erin").stdout.strip()

    # simulatetransaction of a good transfer: valid, ok, the fee, no event.
    raw = node.cli("send", "--from", "dev", "--to", erin, "--amount", "5", "--raw").stdout.strip()
    before = account(node, dev)
    sim = node.rpc("simulatetransaction", raw)
    fw.assert_eq(sorted(sim), ["created", "error", "events", "fee", "gas_used", "ok", "valid"], "reply fields")
    fw.assert_eq((sim["valid"], sim["ok"], sim["error"], sim["created"], sim["events"]),
                 (True, True, None, None, []), "good transfer")
    assert sim["fee"] > 0 and sim["gas_used"] == 11264, sim  # it creates erin's account (protocol.md §5.2)
    fw.assert_eq(account(node, dev), before, "a simulation writes nothing")
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "a simulation relays nothing")
    txid = node.rpc("sendrawtransaction", raw)
    fw.wait_until(lambda: node.rpc("gettransaction", txid)["status"] == "committed", what="commit")
    tx = node.rpc("gettransaction", txid)
    fw.assert_eq((tx["fee"], tx["result"]["ok"]), (sim["fee"], True), "the chain did as predicted")

    # A nonce far ahead: could not be included at all.
    raw = node.cli("send", "--from", "dev", "--to", erin, "--amount", "5", "--raw", "--nonce", "999").stdout.strip()
    sim = node.rpc("simulatetransaction", raw)
    fw.assert_eq((sim["valid"], sim["ok"], sim["fee"]), (False, False, 0), "bad nonce")
    assert "nonce 999, expected" in sim["error"], sim

    # Insufficient funds: valid false, the amounts in ASY with units beside.
    raw = node.cli("send", "--from", "pauper", "--to", erin, "--amount", "1", "--raw").stdout.strip()
    sim = node.rpc("simulatetransaction", raw)
    fw.assert_eq((sim["valid"], sim["ok"]), (False, False), "insufficient funds")
    assert "insufficient balance: has 0.000000000 ASY (0), needs 1.000" in sim["error"], sim

    # Malformed hex is -22, as sendrawtransaction; a bad param -32602.
    fw.assert_raises_rpc(-22, node.rpc, "simulatetransaction", "zz")
    fw.assert_raises_rpc(-22, node.rpc, "simulatetransaction", "00")
    fw.assert_raises_rpc(-32602, node.rpc, "simulatetransaction", 5)

    # A transaction after a pending one of the same sender is simulated on
    # top of it (nonce = committed nonce + pending count).
    nonce = node.rpc("getaccount", dev)["nonce"]
    first = node.cli("send", "--from", "dev", "--to", erin, "--amount", "1", "--raw", "--nonce", str(nonce)).stdout.strip()
    second = node.cli("send", "--from", "dev", "--to", erin, "--amount", "1", "--raw",
                      "--nonce", str(nonce + 1)).stdout.strip()
    txid = node.rpc("sendrawtransaction", first)
    sim = node.rpc("simulatetransaction", second)
    if txid in node.rpc("getrawmempool"):  # still pending: the case under test
        fw.assert_eq((sim["valid"], sim["ok"]), (True, True), f"after a pending predecessor: {sim}")
    node.rpc("sendrawtransaction", second)

    # A real transfer; human tx status names recipient, amount, confirmations.
    res = node.cli("send", "--from", "dev", "--to", erin, "--amount", "5000", "--wait")
    txid = res.stdout.split()[0]
    fw.wait_until(lambda: node.rpc("gettransaction", txid).get("confirmations", 0) >= 2, what="2 confirmations")
    status = node.cli("tx", "status", txid).stdout
    for line in (f"to:      {erin}", "amount:  5000.000000000 ASY", "result:  ok", "confirmations: "):
        assert line in status, (line, status)
    conf = int(status.split("confirmations: ")[1].split()[0])
    assert conf >= 2, status

    # send that cannot be included: refused, nothing charged; --force: the
    # node itself rejects it.
    before = account(node, erin)
    res = node.cli("send", "--from", "erin", "--to", dev, "--amount", "6000", check=False)
    refused(res, f"insufficient balance: has {before[0] // UNIT}.000000000 ASY ({before[0]})", "would not accept")
    fw.assert_eq(account(node, erin), before, "refused send: balance and nonce unchanged")
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "refused send: nothing in the mempool")
    res = node.cli("send", "--from", "erin", "--to", dev, "--amount", "6000", "--force", check=False)
    assert res.returncode == 1 and "--force: sending it anyway" in res.stderr and "rejected" in res.stderr, res.stderr
    fw.assert_eq(account(node, erin), before, "a forced send the node rejects charges nothing")

    # docs/cli.md's job spec example, on a dev chain, as written there.
    res = node.cli("job", "spec", "--kind", "matmul-i8", "--m", "64", "--n", "48", "--k", "80", "--tile-rows", "16",
                   "--tile-cols", "16", "--samples", "66", "--seed", "ab" * 32, "--reward", "5", "-o",
                   os.path.join(tmpdir, "job.bin"))
    assert "samples:    every one of the 12 tiles (66 asked), redundancy 1" in res.stdout, res.stdout
    res = node.cli("job", "spec", "--m", "8", "--reward", "0.0000001", check=False)
    assert res.returncode == 2 and "0.000000100 ASY below the chain's min_reward 0.001000000 ASY" in res.stderr, res
    node.stop()
    nodes.remove(node)


def compute_part(tmpdir, nodes):
    tmpdir = os.path.join(tmpdir, "compute")  # a data directory of its own
    os.makedirs(tmpdir)
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "erin", "w0", "w1"], COMPUTE)

    # assay-worker: an unknown wallet is named before any passphrase is asked
    # (no terminal, no ASSAY_PASSPHRASE: asking would fail first).
    env = {k: v for k, v in os.environ.items() if k != "ASSAY_PASSPHRASE"}
    res = subprocess.run([fw.binary("assay-worker"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}",
                          "-wallet=nosuch"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                         timeout=60)
    assert res.returncode != 0 and "unknown wallet 'nosuch'" in res.stderr, res.stderr
    assert "assphrase" not in res.stderr, res.stderr
    # -bond below min_bond: refused with both amounts in ASY, nothing bonded.
    w1 = fw.Worker(node, "w1", 1, ["-bond=1"])
    w1.start(wait_registered=False)
    w1.proc.wait(timeout=60)
    log = w1.tail(40)
    assert w1.proc.returncode != 0 and "-bond=1.000000000 ASY is below the chain's min_bond 100.000000000 ASY" in log, log
    fw.assert_raises_rpc(-5, node.rpc, "getworker", addr["w1"])

    erin = addr["erin"]

    def check(cmd, reasons, wait_args=("--wait",)):
        before = account(node, erin)
        res = node.cli(*cmd, check=False)
        refused(res, *reasons)
        fw.assert_eq(account(node, erin), before, f"{cmd[0]} {cmd[1]} refused: balance and nonce unchanged")
        fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "refused: nothing sent")
        res = node.cli(*cmd, "--force", *wait_args, check=False)
        forced_failure(res, *reasons)
        balance, nonce = account(node, erin)
        fw.assert_eq(nonce, before[1] + 1, "forced: included")
        assert balance < before[0], "forced: the fee was charged"

    # job submit below min_reward: the CLI's own check names it in ASY.
    check(["job", "submit", "--from", "erin", "--kind", "matmul-i8", "--m", "16", "--n", "16", "--k", "16",
           "--reward", "0.00001"], ["reward 0.000010000 ASY below the chain's min_reward 0.001000000 ASY"])
    # worker register below min_bond: the dry run's reason, in ASY.
    check(["worker", "register", "--from", "erin", "--bond", "50"],
          ["bond 50.000000000 ASY below min_bond 100.000000000 ASY"])
    # worker unbond of an account that is no worker.
    res = node.cli("worker", "unbond", "--from", "erin", check=False)
    refused(res, "would fail on chain")
    reason = res.stderr.split("pay its fee: ")[1].split(";")[0]
    check(["worker", "unbond", "--from", "erin"], [reason])

    # A correct tile: the CLI checks it and refuses; forced, the bond is
    # forfeited, which reads "failed" with exit 1.
    worker = fw.Worker(node, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "16", "--n", "16", "--k", "16",
                   "--samples", "2", "--reward", "1", "--wait")
    job_id = res.stdout.split()[0]
    assert "state:      verified" in res.stdout, res.stdout
    assert "samples 2, redundancy 1" in res.stdout, res.stdout
    before = account(node, erin)
    res = node.cli("job", "dispute", job_id, "--from", "erin", "--tile", "1", check=False)
    refused(res, "tile 1 of slot 0's output checks out correct", "forfeit")
    fw.assert_eq(account(node, erin), before, "refused dispute: balance and nonce unchanged")
    res = node.cli("job", "dispute", job_id, "--from", "erin", "--tile", "1", "--force", "--wait", check=False)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "failed: tile 1 is correct: dispute bond forfeited" in res.stdout, res.stdout
    balance, nonce = account(node, erin)
    fw.assert_eq(nonce, before[1] + 1, "forced dispute included")
    assert balance <= before[0] - UNIT, "the 1 ASY bond was forfeited"


def test(tmpdir, nodes):
    dev_chain_part(tmpdir, nodes)
    compute_part(tmpdir, nodes)


if __name__ == "__main__":
    fw.run(test)
