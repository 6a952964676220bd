"""A transfer that creates its recipient's account pays 11,264 gas for it
(docs/protocol.md §5.2). Without the gas the node refuses it (§9) and a dry
run says it would fail; assay-cli send gives a fresh address the gas and
an existing account none, and both commit."""

import hashlib
import json
import struct
import time

import framework as fw

TX_TRANSFER = 0
NEW_ACCOUNT_GAS = 11264  # VM_GAS_NEW_KEY


def wait_committed(node, txid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        tx = node.rpc("gettransaction", txid)
        if tx["status"] == "committed":
            return tx
        time.sleep(0.2)
    raise AssertionError(f"{txid} not committed")


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "carol")
    carol = node.cli("wallet", "address", "carol").stdout.strip()
    chain_id = bytes.fromhex(node.rpc("getblockchaininfo")["genesis_hash"])
    dev_seed = hashlib.sha256(b"assay/dev-key/0").digest()

    # A hand-made transfer to carol without gas, by the dev key.
    dev = node.cli("wallet", "address", "dev").stdout.strip()
    nonce = node.rpc("getaccount", dev)["pending_nonce"]
    sent = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--raw", "--json").stdout
    signed = bytes.fromhex(json.loads(sent)["hex"])
    # the payload's 28 bytes (to ‖ amount) sit before the 64-byte signature
    payload = signed[-64 - 28:-64]
    fw.assert_eq(struct.unpack("<Q", payload[20:])[0], 10**9, "the payload's amount (1 ASY)")
    no_gas = fw.raw_tx(dev_seed, chain_id, nonce, 10**6, 0, TX_TRANSFER, payload)
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", no_gas)
    assert "needs gas_limit 11264" in e.message, e.message
    sim = node.rpc("simulatetransaction", no_gas)
    assert sim["valid"] and not sim["ok"], sim
    assert "out of gas" in sim["error"], sim
    fw.assert_eq(sim["gas_used"], 0, "gas used by a transfer short of gas (its gas_limit)")
    short = fw.raw_tx(dev_seed, chain_id, nonce, 10**6 + NEW_ACCOUNT_GAS - 1, NEW_ACCOUNT_GAS - 1, TX_TRANSFER, payload)
    fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", short)

    # The wallet gives a fresh address the gas; the fee rises by as much.
    txid = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1").stdout.strip()
    tx = wait_committed(node, txid)
    fw.assert_eq(tx["gas_limit"], NEW_ACCOUNT_GAS, "gas_limit of a transfer to a fresh address")
    fw.assert_eq(tx["fee"], 100000 + NEW_ACCOUNT_GAS, "its default fee")
    assert tx["result"]["ok"], tx
    fw.assert_eq(tx["result"]["gas_used"], NEW_ACCOUNT_GAS, "gas used creating the account")
    fw.assert_eq(node.rpc("getaccount", carol)["balance"], 10**9, "carol's balance")

    # Now the account is there: no gas, the plain fee; and the hand-made
    # gas-free transfer is taken.
    txid = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1").stdout.strip()
    tx = wait_committed(node, txid)
    fw.assert_eq(tx["gas_limit"], 0, "gas_limit of a transfer to an existing account")
    fw.assert_eq(tx["fee"], 100000, "its default fee")
    fw.assert_eq(tx["result"]["gas_used"], 0, "gas used")
    nonce = node.rpc("getaccount", dev)["pending_nonce"]
    txid = node.rpc("sendrawtransaction", fw.raw_tx(dev_seed, chain_id, nonce, 10**6, 0, TX_TRANSFER, payload))
    tx = wait_committed(node, txid)
    assert tx["result"]["ok"], tx
    fw.assert_eq(node.rpc("getaccount", carol)["balance"], 3 * 10**9, "carol's balance")


if __name__ == "__main__":
    fw.run(test)
