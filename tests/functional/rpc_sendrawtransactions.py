"""sendrawtransactions: a batch of signed transactions, their signatures
checked in parallel, answered with one result per transaction in order:
accepted ones (and those already pooled) with their txid, refused ones with
the error sendrawtransaction would give. Bad hex anywhere refuses the whole
call; more than the bound is refused; the accepted ones are committed and
the node keeps producing."""

import json

import framework as fw

MAX_BATCH = 1000  # TXACCEPT_MAX_BATCH, docs/rpc.md


def flip(hexstr, byte_index):
    b = bytearray(bytes.fromhex(hexstr))
    b[byte_index] ^= 0x01
    return b.hex()


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "carol")
    carol = node.cli("wallet", "address", "carol").stdout.strip()
    raws = [node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--nonce", str(i),
                     "--raw").stdout.strip() for i in range(4)]
    gapped = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--nonce", "99",
                      "--raw").stdout.strip()
    bad_sig = flip(raws[2], len(raws[2]) // 2 - 1)

    batch = [raws[0], raws[1], bad_sig, raws[2], raws[0], "00" * 10, gapped, raws[3]]
    res = node.rpc("sendrawtransactions", batch)
    fw.assert_eq(len(res), len(batch), "one result per transaction")
    for i in (0, 1, 3, 4, 7):
        assert "error" not in res[i] and len(res[i]["txid"]) == 64, (i, res[i])
    fw.assert_eq(res[4]["txid"], res[0]["txid"], "a duplicate answers with the same txid")
    fw.assert_eq(res[2]["error"]["code"], -26, "bad signature")
    assert "signature" in res[2]["error"]["message"], res[2]
    assert "txid" in res[2], "a transaction that decodes has a txid even when refused"
    fw.assert_eq(res[5]["error"]["code"], -22, "undecodable bytes")
    assert "txid" not in res[5], res[5]
    fw.assert_eq(res[6]["error"]["code"], -26, "nonce gap")
    assert "gap" in res[6]["error"]["message"], res[6]
    # The same answers as the single form, transaction by transaction.
    fw.assert_eq(node.rpc("sendrawtransaction", raws[1]), res[1]["txid"], "same txid as sendrawtransaction")
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", bad_sig)
    fw.assert_eq(e.message, res[2]["error"]["message"], "same message as sendrawtransaction")

    # Inside a JSON-RPC batch a call cannot wait on the verification pool
    # (the replies leave together): it is checked while the node waits,
    # with the same answers.
    more = [node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--nonce", str(i),
                     "--raw").stdout.strip() for i in (4, 5)]
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "sendrawtransactions", "params": [[more[0], bad_sig]]},
                       {"jsonrpc": "2.0", "id": 2, "method": "sendrawtransaction", "params": [more[1]]}]).encode()
    _, data = node.raw_request(body)
    replies = {r["id"]: r for r in json.loads(data)}
    got = replies[1]["result"]
    assert "error" not in got[0] and len(got[0]["txid"]) == 64, got
    fw.assert_eq(got[1]["error"]["code"], -26, "bad signature inside a JSON-RPC batch")
    fw.assert_eq(len(replies[2]["result"]), 64, "sendrawtransaction inside a JSON-RPC batch")

    # Whole-call refusals: nothing is submitted.
    fw.assert_raises_rpc(-32602, node.rpc, "sendrawtransactions", raws[0])
    fw.assert_raises_rpc(-22, node.rpc, "sendrawtransactions", [raws[0], "zz"], contains="transaction 1")
    # An entry that is not a string is the wrong type, as for sendrawtransaction.
    fw.assert_raises_rpc(-32602, node.rpc, "sendrawtransactions", [5], contains="transaction 0")
    fw.assert_raises_rpc(-32602, node.rpc, "sendrawtransactions", [raws[0], None], contains="transaction 1")
    fw.assert_raises_rpc(-32602, node.rpc, "sendrawtransaction", 5)
    e = fw.assert_raises_rpc(-8, node.rpc, "sendrawtransactions", ["00"] * (MAX_BATCH + 1))
    assert str(MAX_BATCH) in e.message, e.message
    fw.assert_eq(node.rpc("sendrawtransactions", []), [], "an empty batch")

    node.wait_for_height(node.height() + 2)
    for i in (0, 1, 3, 7):
        fw.assert_eq(node.rpc("gettransaction", res[i]["txid"])["status"], "committed", f"tx {i} committed")
    fw.assert_eq(node.rpc("gettransaction", replies[2]["result"])["status"], "committed", "the batch's committed")
    h = node.height()
    node.wait_for_height(h + 2)


if __name__ == "__main__":
    fw.run(test)
