"""What the state keeps for good is paid for in gas (docs/protocol.md
§5.2): a transfer that creates its recipient's account pays 11,264, a blob
11,264 + 64 a byte, a job_submit 11,264 + 64 a byte of its record. Without the gas the node refuses them (§9) and a dry
run says they would fail; assay-cli send gives a fresh address the gas and
an existing account none, and both commit; a blob with its gas is stored."""

import hashlib
import json
import struct
import time

import framework as fw

TX_TRANSFER = 0
TX_BLOB = 11
TX_JOB_SUBMIT = 7
# a job record's bytes besides its spec (docs/compute.md §8): id, submitter,
# state, eight heights and amounts, beacon, salt flag, salt, excluded count
JOB_RECORD_FIXED = 32 + 20 + 1 + 8 * 8 + 32 + 1 + 32 + 1
JOB_SLOT = 1 + 20 + 5 * 8 + 3 * 32 + 4  # one slot, r = 1
JOB_EXCLUDED_MAX = 16 * 20              # JOB_MAX_EXCLUDED addresses
NEW_ACCOUNT_GAS = 11264  # VM_GAS_NEW_KEY
STORAGE_BYTE_GAS = 64    # VM_GAS_STORAGE_BYTE


def wait_committed(node, txid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        tx = node.rpc("gettransaction", txid)
        if tx["status"] == "committed":
            return tx
        time.sleep(0.2)
    raise AssertionError(f"{txid} not committed")


def refused_short(node, dev, dev_seed, chain_id, kind, payload, need, message):
    """A hand-made transaction of kind from the dev key is refused without
    gas (saying message) and one gas short of need; the nonce it would take."""
    nonce = node.rpc("getaccount", dev)["pending_nonce"]
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction",
                             fw.raw_tx(dev_seed, chain_id, nonce, 10**6, 0, kind, payload))
    assert message in e.message, e.message
    fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction",
                         fw.raw_tx(dev_seed, chain_id, nonce, 10**6 + need, need - 1, kind, payload))
    return nonce


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

    # A fee named below that floor is refused before anything is signed, saying why.
    res = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--fee", "0.000001", check=False)
    assert res.returncode == 2 and "has no account yet" in res.stderr and "11264 gas" in res.stderr, res.stderr

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


    # A blob of 5000 bytes: short of 11,264 + 64 x 5000 gas it is refused;
    # with it, stored.
    data = bytes(range(256)) * 19 + bytes(136)
    blob = hashlib.sha256(data).digest() + fw._varint(len(data)) + data
    need = NEW_ACCOUNT_GAS + STORAGE_BYTE_GAS * len(data)
    nonce = refused_short(node, dev, dev_seed, chain_id, TX_BLOB, blob, need,
                          f"storing a blob of {len(data)} bytes needs gas_limit {need}")
    txid = node.rpc("sendrawtransaction", fw.raw_tx(dev_seed, chain_id, nonce, 1000 + need, need, TX_BLOB, blob))
    tx = wait_committed(node, txid)
    assert tx["result"]["ok"], tx
    fw.assert_eq(tx["result"]["gas_used"], need, "gas used storing the blob")
    got = node.rpc("getblob", hashlib.sha256(data).hexdigest())
    fw.assert_eq((got["size"], got["data"]), (len(data), data.hex()), "the stored blob")

    # A job_submit pays for its record, counted at the most it can grow to
    # (its fixed fields, its spec, r slots and a full excluded list): short
    # of that it is refused; assay-cli job submit gives it the gas.
    spec_path = f"{tmpdir}/job.spec"
    job = ["--kind", "matmul-i8", "--m", "16", "--n", "16", "--k", "8", "--tile-rows", "8", "--tile-cols", "8",
           "--samples", "66", "--reward", "2", "--deadline", "200"]
    node.cli("job", "spec", *job, "-o", spec_path)
    with open(spec_path, "rb") as f:
        spec = f.read()
    need = NEW_ACCOUNT_GAS + STORAGE_BYTE_GAS * (JOB_RECORD_FIXED + len(spec) + JOB_SLOT + JOB_EXCLUDED_MAX)
    refused_short(node, dev, dev_seed, chain_id, TX_JOB_SUBMIT, spec, need,
                  f"the record of this job needs gas_limit {need}")
    out = node.cli("--json", "job", "submit", "--from", "dev", *job).stdout
    tx = wait_committed(node, json.loads(out)["txid"])
    assert tx["result"]["ok"], tx
    fw.assert_eq(tx["gas_limit"], need, "gas_limit of assay-cli's job_submit")
    fw.assert_eq(tx["result"]["gas_used"], need, "gas used storing the job record")


if __name__ == "__main__":
    fw.run(test)
