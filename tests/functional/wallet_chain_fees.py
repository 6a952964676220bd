"""assay-cli prices transactions from the node's getchainparams, not from
the genesis defaults: on a local chain whose genesis raises min_fee to
0.00015 ASY and gas_price to 3, a send pays min_fee, a contract deploy and a
call pay exactly min_fee + gas x gas_price, and a --fee below that floor is
refused before anything is signed. Also checks getchainparams itself."""

import json
import os
import time

import framework as fw

MIN_FEE = 150000
GAS_PRICE = 3
HERE = os.path.dirname(os.path.abspath(__file__))
ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "escrow.asm")


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, network="local")
    seed = os.urandom(32)
    keyfile = os.path.join(node.datadir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": seed.hex()}, f)
    addr = {}
    for name in ("alice", "bob", "carol"):
        node.cli("wallet", "create", name)
        addr[name] = node.cli("wallet", "address", name).stdout.strip()
    genesis = {
        "chain": "assay-local-fees", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": 200, "min_fee": MIN_FEE, "gas_price": GAS_PRICE},
        "balances": [{"address": addr["alice"], "amount": 10**6 * 10**9}],
        "validators": [{"pubkey": fw.ed25519_public_key(seed).hex(), "stake": 100}],
    }
    with open(os.path.join(node.datadir, "genesis.json"), "w") as f:
        json.dump(genesis, f)
    node.extra_args += [f"-validator={keyfile}", "-blocktime=200"]
    node.start()
    nodes.append(node)
    node.wait_for_height(1)

    p = node.rpc("getchainparams")
    fw.assert_eq((p["network"], p["hrp"], p["chain"]), ("local", "dassay", "assay-local-fees"), "identity")
    fw.assert_eq(p["chain_id"], node.rpc("getblockchaininfo")["genesis_hash"], "chain_id")
    fw.assert_eq((p["min_fee"], p["gas_price"], p["block_time_ms"]), (MIN_FEE, GAS_PRICE, 200), "params")

    # A transfer without --fee pays the chain's min_fee (above the CLI's
    # 0.0001 ASY), plus the gas that creates bob's account at this chain's
    # gas_price (protocol.md §5.2); the next one pays min_fee alone.
    out = node.cli_json("send", "--from", "alice", "--to", addr["bob"], "--amount", "1", "--wait")
    fw.assert_eq(out["fee"], MIN_FEE + 11264 * GAS_PRICE, "send fee to a new account")
    out = node.cli_json("send", "--from", "alice", "--to", addr["bob"], "--amount", "1", "--wait")
    fw.assert_eq(out["fee"], MIN_FEE, "send fee")
    fw.assert_eq(node.rpc("getaccount", addr["bob"])["balance"], 2 * 10**9, "bob got 2 ASY")

    # A deploy pays exactly the floor for its default gas, and it is accepted.
    out = node.cli_json("contract", "deploy", "--from", "alice", ESCROW, "--value", "1", "--wait",
                        "--args", addr["bob"], addr["carol"], "1000000")
    assert out["ok"], out
    fw.assert_eq(out["fee"], MIN_FEE + 2000000 * GAS_PRICE, "deploy fee")

    # A call one unit below the floor is refused by the CLI; at the floor it goes through.
    floor = MIN_FEE + 1000000 * GAS_PRICE
    low = f"{(floor - 1) // 10**9}.{(floor - 1) % 10**9:09d}"
    res = node.cli("contract", "call", "--from", "alice", out["contract"], "status", "--fee", low, check=False)
    assert res.returncode == 2 and "below min_fee + gas x gas_price" in res.stderr, res.stderr
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "nothing was sent")
    res = node.cli("--json", "contract", "call", "--from", "alice", out["contract"], "status", "--wait")
    fw.assert_eq(json.loads(res.stdout)["fee"], floor, "call fee")


if __name__ == "__main__":
    fw.run(test)
