"""The standard escrow (vm/contracts/escrow.asm) deployed and used from
assay-cli on a dev chain: release by the buyer, release by the arbiter,
refund refused before the timeout height and accepted after it, a
stranger's release refused with state unchanged; every balance exact,
fees included (the dev key produces the blocks, so it earns every fee)."""

import json
import os

import framework as fw

UNIT = 10**9
DEPLOY_FEE = 1000 + 2000000       # min_fee + default deploy gas x gas_price
CALL_FEE = 1000 + 1000000         # min_fee + default call gas x gas_price
HERE = os.path.dirname(os.path.abspath(__file__))
ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "escrow.asm")
ACTIVE, RELEASED, REFUNDED = 0, 1, 2


def balance(node, addr):
    return node.rpc("getaccount", addr)["balance"]


def status(node, contract):
    """escrow.status(): buyer seller arbiter timeout state balance."""
    q = node.cli_json("contract", "query", contract, "status")
    assert q["ok"], q
    raw = bytes.fromhex(q["return"])
    fw.assert_eq(len(raw), 84, "status length")
    word = lambda o: int.from_bytes(raw[o:o + 8], "little")
    return {"buyer": raw[0:20], "seller": raw[20:40], "arbiter": raw[40:60],
            "timeout": word(60), "state": word(68), "balance": word(76)}


def deploy(node, seller, arbiter, timeout, value):
    out = node.cli_json("contract", "deploy", "--from", "buyer", ESCROW, "--value", value,
                        "--wait", "--args", seller, arbiter, str(timeout))
    assert out["ok"], out
    fw.assert_eq(out["fee"], DEPLOY_FEE, "deploy fee")
    fw.assert_eq(len(out["events"]), 1, "deploy events")
    fw.assert_eq(out["events"][0].get("name"), "Deposited", "deploy event")
    return out["contract"]


def call(node, who, contract, method, check=True):
    # A call expected to fail (check=False) is sent with --force: the CLI
    # would refuse it after its dry run, and the test is of the receipt.
    force = () if check else ("--force",)
    res = node.cli("--json", "contract", "call", "--from", who, contract, method, "--wait",
                   *force, check=check)
    out = json.loads(res.stdout)
    fw.assert_eq(out["fee"], CALL_FEE, "call fee")
    return res.returncode, out


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.wait_for_height(2)
    node.cli("wallet", "import-dev")
    addr = {"dev": node.cli("wallet", "address", "dev").stdout.strip()}
    for name in ("buyer", "seller", "arbiter", "stranger"):
        node.cli("wallet", "create", name)
        addr[name] = node.cli("wallet", "address", name).stdout.strip()
    dev0 = balance(node, addr["dev"])
    node.cli("send", "--from", "dev", "--to", addr["buyer"], "--amount", "100", "--wait")
    node.cli("send", "--from", "dev", "--to", addr["arbiter"], "--amount", "1", "--wait")
    node.cli("send", "--from", "dev", "--to", addr["stranger"], "--amount", "1", "--wait")
    # The producer pays itself its own fees: only the amounts leave it.
    fw.assert_eq(balance(node, addr["dev"]), dev0 - 102 * UNIT, "dev after funding")
    buyer, seller, arbiter, stranger = (100 * UNIT, 0, UNIT, UNIT)
    fees = 0  # paid by the four wallets, earned by the producer (dev)

    # Escrow 1: 5 ASY, released by the buyer.
    e1 = deploy(node, "seller", addr["arbiter"], node.height() + 100000, "5")
    buyer -= 5 * UNIT + DEPLOY_FEE
    fees += DEPLOY_FEE
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer after deploy")
    fw.assert_eq(balance(node, e1), 5 * UNIT, "escrow 1 holds the deposit")
    st = status(node, e1)
    fw.assert_eq(st["state"], ACTIVE, "escrow 1 state")
    fw.assert_eq(st["balance"], 5 * UNIT, "escrow 1 balance in status")
    code = node.rpc("getcode", e1)
    fw.assert_eq(code["balance"], 5 * UNIT, "getcode balance")
    # The code at the address disassembles to what the file does.
    from_chain = node.cli_json("contract", "disasm", e1)
    from_file = node.cli_json("contract", "disasm", ESCROW)
    fw.assert_eq(from_chain["text"], from_file["text"], "disassembly of the deployed code")
    fw.assert_eq(from_chain["code_hash"], code["code_hash"], "code hash")

    # A stranger's release is refused: a failed receipt, fee spent, nothing else.
    rc, out = call(node, "stranger", e1, "release", check=False)
    fw.assert_eq(rc, 1, "stranger release exit status")
    assert not out["ok"], out
    assert "only the buyer or the arbiter can release" in out["error"], out
    fw.assert_eq(out["events"], [], "no events from a failed call")
    stranger -= CALL_FEE
    fees += CALL_FEE
    fw.assert_eq(balance(node, addr["stranger"]), stranger, "stranger pays the fee")
    fw.assert_eq(balance(node, e1), 5 * UNIT, "escrow 1 untouched")
    fw.assert_eq(balance(node, addr["seller"]), seller, "seller untouched")
    fw.assert_eq(status(node, e1)["state"], ACTIVE, "escrow 1 still active")

    rc, out = call(node, "buyer", e1, "release")
    assert out["ok"], out
    fw.assert_eq([e.get("name") for e in out["events"]], ["Released"], "release event")
    fw.assert_eq(out["events"][0]["words"], [5 * UNIT], "released amount")
    buyer -= CALL_FEE
    fees += CALL_FEE
    seller += 5 * UNIT
    fw.assert_eq(balance(node, addr["seller"]), seller, "seller paid by escrow 1")
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer after release")
    fw.assert_eq(balance(node, e1), 0, "escrow 1 empty")
    fw.assert_eq(status(node, e1)["state"], RELEASED, "escrow 1 released")
    # Settled is settled: a second release fails.
    rc, out = call(node, "buyer", e1, "release", check=False)
    assert not out["ok"] and "already settled" in out["error"], out
    buyer -= CALL_FEE
    fees += CALL_FEE

    # Escrow 2: 3 ASY, released by the arbiter.
    e2 = deploy(node, addr["seller"], "arbiter", node.height() + 100000, "3")
    buyer -= 3 * UNIT + DEPLOY_FEE
    fees += DEPLOY_FEE
    assert e2 != e1
    rc, out = call(node, "arbiter", e2, "release")
    assert out["ok"], out
    arbiter -= CALL_FEE
    fees += CALL_FEE
    seller += 3 * UNIT
    fw.assert_eq(balance(node, addr["seller"]), seller, "seller paid by escrow 2")
    fw.assert_eq(balance(node, addr["arbiter"]), arbiter, "arbiter pays only the fee")
    fw.assert_eq(status(node, e2)["state"], RELEASED, "escrow 2 released")

    # Escrow 3: 2 ASY with a near timeout; refund refused before it, then paid.
    timeout = node.height() + 25
    e3 = deploy(node, "seller", "arbiter", timeout, "2")
    buyer -= 2 * UNIT + DEPLOY_FEE
    fees += DEPLOY_FEE
    fw.assert_eq(status(node, e3)["timeout"], timeout, "escrow 3 timeout")
    rc, out = call(node, "buyer", e3, "refund", check=False)
    assert out["height"] < timeout, (out, timeout)
    assert not out["ok"] and "refund before the timeout height" in out["error"], out
    buyer -= CALL_FEE
    fees += CALL_FEE
    fw.assert_eq(balance(node, e3), 2 * UNIT, "escrow 3 keeps the deposit")
    node.wait_for_height(timeout)
    rc, out = call(node, "buyer", e3, "refund")
    assert out["ok"], out
    fw.assert_eq([e.get("name") for e in out["events"]], ["Refunded"], "refund event")
    buyer += 2 * UNIT - CALL_FEE
    fees += CALL_FEE
    fw.assert_eq(balance(node, addr["buyer"]), buyer, "buyer refunded")
    fw.assert_eq(balance(node, e3), 0, "escrow 3 empty")
    fw.assert_eq(status(node, e3)["state"], REFUNDED, "escrow 3 refunded")

    # Everyone's books close: the dev key only lost what it sent.
    fw.assert_eq(balance(node, addr["seller"]), 8 * UNIT, "seller total")
    fw.assert_eq(balance(node, addr["stranger"]), UNIT - CALL_FEE, "stranger total")
    fw.assert_eq(balance(node, addr["buyer"]), 100 * UNIT - 10 * UNIT + 2 * UNIT - 3 * DEPLOY_FEE - 4 * CALL_FEE,
                 "buyer total")
    fw.assert_eq(balance(node, addr["dev"]), dev0 - 102 * UNIT + fees, "dev earned every fee")
    for c in (e1, e2, e3):
        fw.assert_eq(balance(node, c), 0, "escrows empty")
    fw.assert_eq(buyer + seller + arbiter + stranger + fees, 102 * UNIT, "nothing created or lost")

if __name__ == "__main__":
    fw.run(test)
