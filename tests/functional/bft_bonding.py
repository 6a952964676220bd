"""Validator bonding through the node (docs/protocol.md §10): a local chain
with one genesis validator A and a follower B whose key is funded. B sends
validator_bond; from two blocks after its inclusion B is in the set
(getvalidators), and with equal power every commit needs B's precommit, so
the chain goes on only because B signs; B proposes blocks too. Then B
unbonds: it leaves the set two blocks after, A alone goes on, and after
unbonding_period blocks the stake is back in B's balance. The transactions
are built and signed here (protocol §3), with the framework's pure-Python
Ed25519."""

import json
import os
import time

import framework as fw

UNIT = 10**9
BOND = 1000 * UNIT  # min_validator_bond: the same power as A's stake
UNBONDING = 15

def build_tx(chain_id, seed, nonce, fee, kind, payload):
    """protocol §3, signed by the framework's Ed25519 (no gas limit)."""
    return fw.raw_tx(seed, chain_id, nonce, fee, 0, kind, payload)


def test(tmpdir, nodes):
    base = fw.free_port_block()
    a = fw.Node(0, tmpdir, network="local", port_base=base)
    b = fw.Node(1, tmpdir, network="local", port_base=base)
    seed_a, seed_b = os.urandom(32), os.urandom(32)
    pk_a, pk_b = fw.ed25519_public_key(seed_a).hex(), fw.ed25519_public_key(seed_b).hex()
    a.cli("wallet", "create", "carol")
    carol = a.cli("wallet", "address", "carol").stdout.strip()
    genesis = {
        "chain": "assay-bft-bonding", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": 200, "unbonding_period": UNBONDING, "evidence_max_age": UNBONDING - 1},
        "balances": [{"address": carol, "amount": 10**4 * UNIT}],
        "validators": [{"pubkey": pk_a, "stake": 1000}],
    }
    for node, seed in ((a, seed_a), (b, seed_b)):
        keyfile = os.path.join(node.datadir, "validator.json")
        with open(keyfile, "w") as f:
            json.dump({"seed": seed.hex()}, f)
        with open(os.path.join(node.datadir, "genesis.json"), "w") as f:
            json.dump(genesis, f)
        node.extra_args += [f"-validator={keyfile}", "-blocktime=200"]
    b.extra_args += [f"-addnode={fw.p2p_addr(a)}"]
    a.extra_args += [f"-addnode={fw.p2p_addr(b)}"]
    for node in (a, b):
        node.start()
        nodes.append(node)

    # B's address is funded by a transfer; B is no validator yet
    addr_b = b.rpc("getvalidators")  # the genesis set alone
    fw.assert_eq([v["pubkey"] for v in addr_b["validators"]], [pk_a], "the genesis set")
    fw.assert_eq(addr_b["validators"][0]["bond"], 1000 * UNIT, "a genesis validator's bond is stake x 10^9")
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    # the address of B's key, through a throw-away wallet made from its seed
    seed_file = os.path.join(tmpdir, "seed_b")
    with open(seed_file, "w") as f:
        f.write(seed_b.hex())
    a.cli("wallet", "import", "bkey", "--seed-file", seed_file)
    address_b = a.cli("wallet", "address", "bkey").stdout.strip()
    a.cli("send", "--from", "carol", "--to", address_b, "--amount", "2000", "--wait")
    fw.wait_until(lambda: b.rpc("getaccount", address_b)["balance"] == 2000 * UNIT, 30, "B funded on B")
    fee = 1000

    # bond: B enters the set at inclusion height + 2
    txid = b.rpc("sendrawtransaction", build_tx(chain_id, seed_b, 0, fee, 3, BOND.to_bytes(8, "little")))
    fw.wait_until(lambda: b.rpc("gettransaction", txid).get("status") == "committed", 30, "bond committed")
    tx = b.rpc("gettransaction", txid)
    assert tx["result"]["ok"], tx
    fw.assert_eq(tx["payload"], {"amount": BOND}, "the bond's payload as gettransaction shows it")
    h_bond = tx["height"]
    fw.wait_until(lambda: b.height() >= h_bond + 1, 30, "height after the bond")
    vs = b.rpc("getvalidators", h_bond + 2)
    fw.assert_eq(sorted(v["pubkey"] for v in vs["validators"]), sorted([pk_a, pk_b]), "the set at h+2")
    fw.assert_eq(vs["total_power"], 2000, "total power with B")
    mine = [v for v in vs["validators"] if v["pubkey"] == pk_b][0]
    fw.assert_eq(mine["power"], 1000, "B's power")
    fw.assert_eq(mine["bond"], BOND, "B's bond")
    fw.assert_eq([v["pubkey"] for v in b.rpc("getvalidators", h_bond + 1)["validators"]], [pk_a],
                 "the set at h+1 is still A alone")

    # with equal power every commit from h+2 on carries both signatures, and
    # both propose
    fw.same_chain_at([a, b], h_bond + 12, timeout=60)
    proposers = set()
    for h in range(h_bond + 3, h_bond + 12):
        blk = a.rpc("getblock", h)
        signers = set(blk["last_commit_signers"])
        if h >= h_bond + 3:  # the commit of block h-1 >= h_bond+2
            assert pk_b in signers and pk_a in signers, (h, signers)
        proposers.add(blk["proposer"])
    assert pk_b in proposers, f"B never proposed: {proposers}"
    assert pk_a in proposers, f"A never proposed: {proposers}"
    cs = b.rpc("getconsensusstate")
    assert cs["validator"], cs

    # unbond: B leaves at inclusion height + 2; A alone goes on
    before = b.rpc("getaccount", address_b)["balance"]
    txid = b.rpc("sendrawtransaction", build_tx(chain_id, seed_b, 1, fee, 4, BOND.to_bytes(8, "little")))
    fw.wait_until(lambda: b.rpc("gettransaction", txid).get("status") == "committed", 30, "unbond committed")
    h_unbond = b.rpc("gettransaction", txid)["height"]
    fw.wait_until(lambda: a.height() >= h_unbond + 1, 30, "height after the unbond")
    fw.assert_eq([v["pubkey"] for v in a.rpc("getvalidators", h_unbond + 2)["validators"]], [pk_a],
                 "the set after the unbond")
    rec = [v for v in a.rpc("getvalidators", h_unbond + 1)["validators"] if v["pubkey"] == pk_b][0]
    fw.assert_eq(rec["bond"], 0, "B's bond after unbonding")
    fw.assert_eq(rec["unbonding"], [{"amount": BOND, "release_height": h_unbond + UNBONDING}], "unbonding entry")
    b.stop()  # A alone holds all the power now
    nodes.remove(b)
    # B proposed blocks, so its balance moves by fees; never by the bond yet
    locked = a.rpc("getaccount", address_b)["balance"]
    assert before - fee <= locked <= before, (before, locked)
    assert a.height() < h_unbond + UNBONDING, "checked before the release"
    fw.wait_until(lambda: a.height() >= h_unbond + UNBONDING + 1, 60, "A alone past the release")
    for h in range(h_unbond + 3, h_unbond + UNBONDING):
        fw.assert_eq(a.rpc("getblock", h)["last_commit_signers"], [pk_a], f"signers of block {h}'s commit")
    fw.assert_eq(a.rpc("getaccount", address_b)["balance"], locked + BOND, "released after the period")
    fw.assert_eq(a.rpc("getvalidators")["others"], [], "no record left of B")


if __name__ == "__main__":
    fw.run(test)
