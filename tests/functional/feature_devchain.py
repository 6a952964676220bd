"""A dev node produces blocks; the dev key sends to a new wallet; balances
and nonces are exact after commit; a restart keeps the same tip and state."""

import framework as fw

FEE = 100000  # the CLI's default fee, 0.0001 ASY
UNIT = 10**9


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    info = node.rpc("getblockchaininfo")
    for field in ("chain", "height", "best_hash", "state_root", "genesis_hash"):
        assert field in info, field
    fw.assert_eq(info["chain"], "assay-dev", "chain")
    node.wait_for_height(3)
    # Prometheus text on /metrics, no credentials needed.
    _, metrics = node.raw_request(None, auth="", method="GET", path="/metrics")
    metrics = metrics.decode()
    height_line = [l for l in metrics.splitlines() if l.startswith("assay_block_height ")]
    assert height_line and int(height_line[0].split()[1]) >= 3, metrics
    assert 'assay_peers{direction="inbound"} 0' in metrics, metrics

    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "alice")
    dev = node.cli("wallet", "address", "dev").stdout.strip()
    alice = node.cli("wallet", "address", "alice").stdout.strip()
    assert alice.startswith("dassay1"), alice
    dev_before = node.rpc("getaccount", dev)

    out = node.cli("send", "--from", "dev", "--to", alice, "--amount", "12.5", "--wait").stdout
    txid = out.split()[0]
    tx = node.rpc("gettransaction", txid)
    fw.assert_eq(tx["status"], "committed", "status")
    assert tx["result"]["ok"], tx
    assert isinstance(tx["height"], int)

    a = node.rpc("getaccount", alice)
    fw.assert_eq(a["balance"], 12 * UNIT + UNIT // 2, "alice balance")
    fw.assert_eq(a["nonce"], 0, "alice nonce")
    d = node.rpc("getaccount", dev)
    # The dev key is also the block producer, so it gets its own fee back.
    fw.assert_eq(d["balance"], dev_before["balance"] - 12 * UNIT - UNIT // 2, "dev balance")
    fw.assert_eq(d["nonce"], dev_before["nonce"] + 1, "dev nonce")

    # Alice sends back; she pays the fee, which the producer (dev) earns.
    node.cli("send", "--from", "alice", "--to", dev, "--amount", "2", "--wait")
    a = node.rpc("getaccount", alice)
    fw.assert_eq(a["balance"], 10 * UNIT + UNIT // 2 - FEE, "alice after send")
    fw.assert_eq(a["nonce"], 1, "alice nonce after send")
    bal = node.cli("balance", "alice").stdout
    assert "10.499900000 ASY" in bal, bal

    # Several transactions from one sender in one go keep their order.
    for i in range(5):
        node.cli("send", "--from", "dev", "--to", alice, "--amount", "1")
    deadline_h = node.height() + 20
    while node.rpc("getmempoolinfo")["size"] and node.height() < deadline_h:
        node.wait_for_height(node.height() + 1)
    fw.assert_eq(node.rpc("getaccount", alice)["balance"], 15 * UNIT + UNIT // 2 - FEE, "alice after 5")
    fw.assert_eq(node.rpc("getaccount", dev)["nonce"], dev_before["nonce"] + 6, "dev nonce after 5")

    # Proofs: the account is included under the state root.
    proof = node.rpc("getproof", alice)
    assert proof["included"], proof

    # Restart: same tip, same state root, and the chain goes on.
    before = node.rpc("getblockchaininfo")
    fw.assert_eq(node.stop(), 0, "clean exit status")
    node.start()
    after = node.rpc("getblockchaininfo")
    assert after["height"] >= before["height"]
    old = node.rpc("getblock", before["height"])
    fw.assert_eq(old["hash"], before["best_hash"], "tip hash after restart")
    fw.assert_eq(old["state_root"], before["state_root"], "state root after restart")
    node.wait_for_height(before["height"] + 2)
    fw.assert_eq(node.rpc("getaccount", alice)["balance"], 15 * UNIT + UNIT // 2 - FEE, "alice after restart")


if __name__ == "__main__":
    fw.run(test)
