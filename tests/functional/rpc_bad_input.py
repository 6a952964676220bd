"""Bad input over RPC: wrong credentials, malformed JSON, unknown methods,
wrong parameter types, undecodable and non-canonical transactions, bad
signatures, wrong chain_id, nonce replays and gaps, overdrafts. Each gets a
clear error and the node keeps producing blocks; a datadir of another
network is refused at start."""

import json
import os
import subprocess
import time
import urllib.error

import framework as fw

NET_BAN_MAX_S = 10 * 365 * 86400  # net/net.h


def http_status(node, body, auth):
    try:
        status, _ = node.raw_request(body, auth=auth)
        return status
    except urllib.error.HTTPError as e:
        return e.code


def call(node, method, params):
    """The whole reply to one call whose params may be any JSON value."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    return json.loads(node.raw_request(body)[1])


def flip(hexstr, byte_index):
    b = bytearray(bytes.fromhex(hexstr))
    b[byte_index] ^= 0x01
    return b.hex()


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}).encode()
    fw.assert_eq(http_status(node, body, "__cookie__:wrong"), 401, "wrong cookie")
    fw.assert_eq(http_status(node, body, ""), 401, "no credentials")
    fw.assert_eq(http_status(node, body, None), 200, "right cookie")

    _, data = node.raw_request(b"{not json")
    fw.assert_eq(json.loads(data)["error"]["code"], -32700, "parse error")
    _, data = node.raw_request(b"")  # evbuffer_pullup gave NULL: jansson said "wrong arguments"
    fw.assert_eq(json.loads(data)["error"], {"code": -32700, "message": "parse error: empty request body"},
                 "empty body")
    _, data = node.raw_request(b'{"id":1}')
    fw.assert_eq(json.loads(data)["error"]["code"], -32600, "invalid request")
    fw.assert_raises_rpc(-32601, node.rpc, "nosuchmethod")
    fw.assert_raises_rpc(-32602, node.rpc, "getblockhash", "ten")
    fw.assert_raises_rpc(-8, node.rpc, "getblockhash", 10**9)
    fw.assert_raises_rpc(-32602, node.rpc, "getaccount", 12)
    fw.assert_raises_rpc(-32602, node.rpc, "getaccount", "dassay1notanaddress")
    fw.assert_raises_rpc(-5, node.rpc, "gettransaction", "00" * 32)
    fw.assert_raises_rpc(-5, node.rpc, "getblock", "11" * 32)
    # getvalidators: a height outside the kept range, 0 included, is -8;
    # what is not a height at all is -32602.
    assert node.rpc("getvalidators", 1)["validators"], "height 1 is kept"
    for height in (0, 10**9):
        fw.assert_raises_rpc(-8, node.rpc, "getvalidators", height, contains="no validator set kept")
    for bad in (-1, "1", 1.5):
        fw.assert_raises_rpc(-32602, node.rpc, "getvalidators", bad)
    # estimatefee's TARGET_BLOCKS: one message for every value out of 1..100
    for bad in (0, 101):
        fw.assert_raises_rpc(-32602, node.rpc, "estimatefee", bad, contains="from 1 to 100")
    # and its TX_BYTES, from 1 to the chain's max_tx_bytes (1 MiB on dev)
    for bad in (0, 2**20 + 1, "182"):
        fw.assert_raises_rpc(-32602, node.rpc, "estimatefee", 1, bad, contains="TX_BYTES must be an integer from 1 to")
    fw.assert_eq(node.rpc("estimatefee", 1, 2**20)["tx_bytes"], 2**20, "the largest TX_BYTES")
    # A batch answers each request.
    _, data = node.raw_request(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "getblockcount"},
                                           {"jsonrpc": "2.0", "id": 2, "method": "nosuch"}]).encode())
    replies = json.loads(data)
    assert "result" in replies[0] and replies[1]["error"]["code"] == -32601, replies

    # Named parameters (an object) only where a method says so (listjobs);
    # any other method refuses them before it runs: no stop, no wait, no
    # answer that ignored them.
    for method, params in (("estimatefee", {"target_blocks": 500}),
                           ("waitfornewblock", {"timeout_ms": 0, "after_height": 10**12}),
                           ("stop", {"x": 1})):
        reply = call(node, method, params)
        fw.assert_eq(reply.get("error", {}).get("code"), -32602, f"{method} with an object")
        assert "positional" in reply["error"]["message"], reply
    assert isinstance(node.rpc("getblockcount"), int)  # still running
    assert isinstance(call(node, "getblockcount", {})["result"], int), "{} is no parameters"
    fw.assert_eq(call(node, "listjobs", {"state": "open"})["result"], [], "listjobs' named filters")
    fw.assert_eq(call(node, "listjobs", {"state": "done"})["error"]["code"], -32602, "a named filter is read")
    err = call(node, "listjobs", {"stat": "open"})["error"]
    fw.assert_eq(err["code"], -32602, "an unknown named filter is refused, not ignored")
    assert "unknown filter" in err["message"], err
    assert "one object of named ones" in node.rpc("help", "listjobs"), node.rpc("help", "listjobs")

    # setban SECONDS stops at NET_BAN_MAX_S: past it the expiry wrapped
    # (the ban vanished at once) or went negative in listbanned.
    for secs in (18446744073709552, NET_BAN_MAX_S + 1, 2**62, -1, 1.5):
        fw.assert_raises_rpc(-32602, node.rpc, "setban", "203.0.113.7", "add", secs)
    fw.assert_eq(node.rpc("listbanned"), [], "no ban from a refused setban")
    node.rpc("setban", "203.0.113.7", "add", NET_BAN_MAX_S)
    until = node.rpc("listbanned")[0]["banned_until_ms"]
    assert abs(until - (time.time() + NET_BAN_MAX_S) * 1000) < 60000, until
    node.rpc("setban", "203.0.113.7", "remove")

    fw.assert_raises_rpc(-22, node.rpc, "sendrawtransaction", "zz")
    fw.assert_raises_rpc(-22, node.rpc, "sendrawtransaction", "00" * 10)

    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "carol")
    carol = node.cli("wallet", "address", "carol").stdout.strip()
    raw = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--raw").stdout.strip()
    # Layout: chain_id 32, nonce 8, sender 32, fee 8, gas 8, kind 1, payload (len 1 + 28), sig 64.
    fw.assert_raises_rpc(-22, node.rpc, "sendrawtransaction", raw + "00")  # trailing byte
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", flip(raw, len(raw) // 2 - 1))
    assert "signature" in e.message, e.message
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", flip(raw, 0))
    assert "chain" in e.message, e.message
    nonce_off = 32
    gap = bytearray(bytes.fromhex(raw))
    gap[nonce_off] = 5
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", gap.hex())
    assert "signature" in e.message or "nonce" in e.message, e.message
    # A non-minimal varint for the payload length is not canonical.
    b = bytes.fromhex(raw)
    plen_off = 32 + 8 + 32 + 8 + 8 + 1
    noncanon = b[:plen_off] + bytes([b[plen_off] | 0x80, 0x00]) + b[plen_off + 1:]
    fw.assert_raises_rpc(-22, node.rpc, "sendrawtransaction", noncanon.hex())

    txid = node.rpc("sendrawtransaction", raw)
    fw.assert_eq(node.rpc("sendrawtransaction", raw), txid, "resubmission is idempotent")
    node.wait_for_height(node.height() + 2)
    fw.assert_eq(node.rpc("gettransaction", txid)["status"], "committed", "status")
    # getblock VERBOSITY: the whole integer counts (cast to int, 2^32 was 0
    # and gave hex); above 2 is 2, negative is 1; other types are refused.
    height = node.rpc("gettransaction", txid)["height"]
    fw.assert_eq(type(node.rpc("getblock", height, 0)), str, "verbosity 0: hex")
    for verbosity, tx_type in ((None, str), (1, str), (-1, str), (-2**32, str), (2**32 + 1, dict),
                               (2, dict), (3, dict), (2**32, dict), (2**62, dict)):
        blk = node.rpc("getblock", height, verbosity)
        assert isinstance(blk, dict), f"getblock verbosity {verbosity} gave {blk[:16]}..."
        fw.assert_eq(type(blk["txs"][0]), tx_type, f"getblock verbosity {verbosity}")
    for verbosity in (True, False, "1", 1.5, [2], {"v": 2}):
        fw.assert_raises_rpc(-32602, node.rpc, "getblock", height, verbosity, contains="VERBOSITY")
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", raw)
    assert "nonce" in e.message, e.message  # replay

    gapped = node.cli("send", "--from", "dev", "--to", carol, "--amount", "1", "--nonce", "99", "--raw").stdout.strip()
    e = fw.assert_raises_rpc(-26, node.rpc, "sendrawtransaction", gapped)
    assert "gap" in e.message, e.message

    res = node.cli("send", "--from", "carol", "--to", carol, "--amount", "5", check=False)
    assert res.returncode != 0 and "insufficient" in res.stderr, res.stderr
    res = node.cli("send", "--from", "dev", "--to", carol, "--amount", "18446744073.709551615", check=False)
    assert res.returncode != 0, res.stdout

    # Still alive and producing.
    h = node.height()
    node.wait_for_height(h + 2)

    # A datadir of another network is refused with a clear message.
    node.stop()
    genesis = {"chain": "assay-local-x", "network": "local", "time_ms": 1, "balances": [],
               "validators": [{"pubkey": "11" * 32, "stake": 1}]}
    gpath = os.path.join(tmpdir, "genesis.json")
    with open(gpath, "w") as f:
        json.dump(genesis, f)
    res = subprocess.run([fw.binary("assayd"), f"-datadir={node.datadir}", "-network=local",
                          f"-genesis={gpath}", f"-rpcport={node.rpcport}", "-printtoconsole=0"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and "another chain" in res.stderr, res.stderr
    # And the dev chain is intact afterwards.
    node.start()
    assert node.height() >= h + 2


if __name__ == "__main__":
    fw.run(test)
