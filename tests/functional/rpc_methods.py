"""The RPC methods users of bitcoind reach for, against real nodes:
getbestblockhash, getblockheader, getnetworkinfo, getconnectioncount, uptime,
validateaddress, decoderawtransaction (of a transaction the CLI signed),
estimatefee, listtransactions over -addrindex (built for blocks stored while
it was off), and the long polls waitfornewblock and waitforjob, including the
bound on waiting calls, a client that hangs up freeing its place and the 503
a waiting call gets when the node stops."""

import base64
import json
import os
import socket
import time

import framework as fw

MAX_WAITING = 32  # RPC_MAX_DEFERRED in node/rpc.h


def rehrp(address, hrp):
    """The same address bytes under another network's prefix, with a valid
    bech32m checksum (BIP-350)."""
    data = [fw.BECH32M_CHARSET.index(c) for c in address.rsplit("1", 1)[1]]
    payload = data[:-6]
    return hrp + "1" + "".join(fw.BECH32M_CHARSET[d] for d in payload + fw.bech32m_checksum(hrp, payload))


def open_waiter(node, params):
    """A waitfornewblock request on a raw socket left open (not read)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "waitfornewblock", "params": params}).encode()
    auth = base64.b64encode(node.cookie().encode()).decode()
    s = socket.create_connection(("127.0.0.1", node.rpcport), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
              b"\r\n\r\n" + body)
    return s


def read_to_close(sock):
    """Every byte the peer sends until it closes the connection."""
    sock.settimeout(10)
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def check_headers(node):
    def same_tip():
        height = node.rpc("getblockcount")
        return node.rpc("getbestblockhash") == node.rpc("getblockhash", height)

    fw.wait_until(same_tip, 10, "getbestblockhash to name the tip")
    blk = node.rpc("getblock", 1)
    by_height = node.rpc("getblockheader", 1)
    by_hash = node.rpc("getblockheader", blk["hash"])
    fw.assert_eq(by_height, {**by_hash, "confirmations": by_height["confirmations"]}, "header by hash")
    for k in ("hash", "height", "time_ms", "prev_hash", "tx_root", "state_root", "proposer", "ntx"):
        fw.assert_eq(by_height[k], blk[k], f"header field {k}")
    fw.assert_eq(by_height["next_hash"], node.rpc("getblockhash", 2), "next_hash")
    raw = node.rpc("getblockheader", 1, False)
    assert blk["prev_hash"] in raw and blk["state_root"] in raw and blk["tx_root"] in raw, raw
    fw.assert_raises_rpc(-8, node.rpc, "getblockheader", 10**9)
    fw.assert_raises_rpc(-5, node.rpc, "getblockheader", "00" * 32)
    fw.assert_raises_rpc(-32602, node.rpc, "getblockheader", "nothex")
    # Only a height above the tip is -8 (docs/rpc.md); a negative one is no height.
    for bad in (-1, -2**62, 1.5, True):
        fw.assert_raises_rpc(-32602, node.rpc, "getblockheader", bad)


def check_addresses(node, bob):
    ok = node.rpc("validateaddress", bob)
    fw.assert_eq((ok["isvalid"], ok["address"], ok["network"]), (True, bob, "dev"), "valid address")
    other = node.rpc("validateaddress", rehrp(bob, "tassay"))
    fw.assert_eq((other["isvalid"], other["network"]), (False, "testnet"), "testnet address")
    assert "testnet" in other["error"] and "dassay1" in other["error"], other
    broken = bob[:-1] + ("q" if bob[-1] != "q" else "p")
    for bad in (broken, "xyz", ""):
        res = node.rpc("validateaddress", bad)
        assert res["isvalid"] is False and res["error"], (bad, res)
    fw.assert_raises_rpc(-32602, node.rpc, "validateaddress", 5)


def check_decode(node, dev, bob):
    raw = node.cli_json("send", "--from", "dev", "--to", bob, "--amount", "1.5", "--raw")
    tx = node.rpc("decoderawtransaction", raw["hex"])
    fw.assert_eq((tx["txid"], tx["kind"], tx["sender"]), (raw["txid"], "transfer", dev), "decoded tx")
    fw.assert_eq(tx["payload"], {"to": bob, "amount": 1500000000}, "decoded payload")
    fw.assert_eq(tx["size"], len(raw["hex"]) // 2, "size")
    assert tx["signature_valid"] is True, tx
    flipped = raw["hex"][:-2] + ("00" if raw["hex"][-2:] != "00" else "01")
    assert node.rpc("decoderawtransaction", flipped)["signature_valid"] is False
    fw.assert_raises_rpc(-22, node.rpc, "decoderawtransaction", "zz")
    fw.assert_raises_rpc(-22, node.rpc, "decoderawtransaction", raw["hex"] + "00")
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "decoding sends nothing")


def check_listtransactions(node, dev, bob, carol):
    rows = node.rpc("listtransactions", bob)
    fw.assert_eq([r["category"] for r in rows], ["send", "receive", "receive"], "bob's history, newest first")
    fw.assert_eq([r["payload"]["amount"] for r in rows], [10**9, 3 * 10**9, 2 * 10**9], "amounts")
    assert rows[0]["height"] >= rows[1]["height"] >= rows[2]["height"], rows
    assert all(r["ok"] and r["confirmations"] >= 1 for r in rows), rows
    fw.assert_eq([r["txid"] for r in node.rpc("listtransactions", bob, 1, 1)], [rows[1]["txid"]], "count, skip")
    fw.assert_eq(node.rpc("listtransactions", bob, 10, 3), [], "skip past the end")
    fw.assert_eq([r["category"] for r in node.rpc("listtransactions", carol)], ["receive"], "carol")
    assert len(node.rpc("listtransactions", dev, 1000)) >= 2
    fw.assert_raises_rpc(-32602, node.rpc, "listtransactions", bob, 1001)
    fw.assert_raises_rpc(-8, node.rpc, "listtransactions", rehrp(bob, "tassay"))


def check_waits(node):
    h = node.height()
    t = time.time()
    got = node.rpc("waitfornewblock", 20000)
    took = time.time() - t
    assert got["height"] > h and took < 5, (got, took)
    fw.assert_eq(got["hash"], node.rpc("getblockhash", got["height"]), "waited-for hash")
    t = time.time()
    got = node.rpc("waitfornewblock", 400, 10**12)
    took = time.time() - t
    assert 0.35 < took < 5 and got["height"] < 10**12, (got, took)
    now = node.height()
    t = time.time()
    got = node.rpc("waitfornewblock", 20000, now - 1)  # already above: at once
    assert time.time() - t < 1 and got["height"] >= now, got
    fw.assert_raises_rpc(-32602, node.rpc, "waitfornewblock", -1)
    # A batch cannot hold a waiting call.
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "waitfornewblock", "params": [1000, 10**12]}])
    _, data = node.raw_request(body.encode())
    reply = json.loads(data)
    fw.assert_eq(reply[0]["error"]["code"], -32600, "waiting call in a batch")


def check_waiter_bound(node):
    socks = [open_waiter(node, [60000, 10**12]) for _ in range(MAX_WAITING)]
    fw.wait_until(lambda: _bound_reached(node), 10, "the waiter bound")
    # Clients that hang up free their places: a new waiter is accepted.
    for s in socks:
        s.close()
    fw.wait_until(lambda: _waiter_accepted(node), 10, "a waiter after the others hung up")
    # A waiter held across a stop does not keep the node from stopping.
    return open_waiter(node, [60000, 10**12])


def _bound_reached(node):
    try:
        node.rpc("waitfornewblock", 100, 10**12)
        return False
    except fw.RPCError as e:
        assert "RPC_MAX_DEFERRED" in e.message, e.message
        return True


def _waiter_accepted(node):
    try:
        node.rpc("waitfornewblock", 50, 10**12)
        return True
    except fw.RPCError as e:
        assert "RPC_MAX_DEFERRED" in e.message, e.message
        return False


def check_waitforjob(node):
    res = node.cli("job", "submit", "--from", "dev", "--kind", "matmul-i8", "--m", "32", "--n", "32", "--k", "16",
                   "--tile-rows", "8", "--tile-cols", "8", "--reward", "2", "--deadline", "106")
    job_id = res.stdout.split()[0]
    fw.wait_job(node, job_id, ("open", "assigned", "refunded"), timeout=30, missing_ok=True)
    got = node.rpc("waitforjob", job_id, "open", 1000)
    fw.assert_eq((got["job_id"], got["state"], got["reached"]), (job_id, "open", True), "reached at once")
    t = time.time()
    got = node.rpc("waitforjob", job_id, "assigned", 300)
    assert got["reached"] is False and got["state"] == "open" and time.time() - t >= 0.25, got
    # No worker takes it: the deadline refunds it, a terminal state that
    # ends the wait for "verified" as soon as its block is connected.
    # (long polls of 20 s: the least deadline at 300 ms blocks outlasts one
    # HTTP request of the framework)
    for _ in range(6):
        got = node.rpc("waitforjob", job_id, "verified", 20000)
        if got["reached"]:
            break
    fw.assert_eq((got["state"], got["reached"]), ("refunded", True), "terminal state ends the wait")
    fw.assert_raises_rpc(-5, node.rpc, "waitforjob", "00" * 32, "paid", 100)
    fw.assert_raises_rpc(-32602, node.rpc, "waitforjob", job_id, "done", 100)
    fw.assert_raises_rpc(-32602, node.rpc, "waitforjob", "12", "paid")


def check_estimatefee_contested(tmpdir, nodes):
    """A local chain of 2-transaction blocks: six transfers fill three blocks,
    and the estimate's tip is what got into those full blocks."""
    node = fw.Node(2, tmpdir, network="local")
    seed = os.urandom(32)
    keyfile = os.path.join(node.datadir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": seed.hex()}, f)
    names = [f"s{i}" for i in range(6)]
    addrs = []
    for name in names:
        node.cli("wallet", "create", name)
        addrs.append(node.cli("wallet", "address", name).stdout.strip())
    genesis = {
        "chain": "assay-local-fees", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": 400, "max_block_txs": 2},
        "balances": [{"address": a, "amount": 10**12} for a in addrs],
        "validators": [{"pubkey": fw.ed25519_public_key(seed).hex(), "stake": 100}],
    }
    with open(os.path.join(node.datadir, "genesis.json"), "w") as f:
        json.dump(genesis, f)
    node.extra_args += [f"-validator={keyfile}", "-blocktime=400"]
    node.start()
    nodes.append(node)
    idle = node.rpc("estimatefee")
    fw.assert_eq((idle["tip"], idle["fee"], idle["full_blocks"]), (0, idle["min_fee"], 0), "idle chain")
    txids = []
    for i, name in enumerate(names):  # fees 0.0002 .. 0.0007 ASY
        res = node.cli_json("send", "--from", name, "--to", addrs[0], "--amount", "1", "--fee", f"0.000{i + 2}")
        txids.append(res["txid"] if isinstance(res, dict) else str(res))
    fw.wait_until(lambda: node.rpc("getmempoolinfo")["size"] == 0, 30, "the transfers to be included")
    heights = {node.rpc("gettransaction", t)["height"] for t in txids if len(t) == 64}
    est = node.rpc("estimatefee")
    min_fee = est["min_fee"]
    tips = [(i + 2) * 100000 - min_fee for i in range(6)]
    assert est["full_blocks"] >= 2, (est, heights)
    assert est["tip"] in tips and est["fee"] == min_fee + est["tip"], (est, tips)
    node.stop()
    nodes.remove(node)


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300", "-addrindex"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    dev = node.cli("wallet", "address", "dev").stdout.strip()
    node.cli("wallet", "create", "bob")
    node.cli("wallet", "create", "carol")
    bob = node.cli("wallet", "address", "bob").stdout.strip()
    carol = node.cli("wallet", "address", "carol").stdout.strip()
    node.cli("send", "--from", "dev", "--to", bob, "--amount", "2", "--wait")

    # A second node without -addrindex, connected to the first.
    peer = fw.Node(1, tmpdir, extra_args=["-novalidator", "-nolisten", f"-connect={fw.p2p_addr(node)}"]).start()
    nodes.append(peer)
    fw.wait_until(lambda: node.rpc("getconnectioncount") == 1 and peer.rpc("getconnectioncount") == 1, 30,
                  "the nodes to connect")
    net = node.rpc("getnetworkinfo")
    fw.assert_eq((net["connections"], net["connections_in"], net["connections_out"]), (1, 1, 0), "node0 peers")
    fw.assert_eq(peer.rpc("getnetworkinfo")["connections_out"], 1, "node1 peers")
    fw.assert_eq((net["network"], net["protocol_version"], net["networkactive"]), ("dev", 1, True), "network")
    assert net["subversion"].startswith("/assayd:") and net["version"] in net["subversion"], net
    assert net["local_addresses"][0]["port"] == node.port, net
    fee = node.rpc("estimatefee")
    fw.assert_eq(net["relay_fee"], fee["min_fee"], "relay fee is the chain's min_fee")
    assert fee["fee"] >= fee["min_fee"] > 0 and fee["target_blocks"] == 1, fee
    fw.assert_eq(node.rpc("estimatefee", 6)["target_blocks"], 6, "target")
    fw.assert_raises_rpc(-32602, node.rpc, "estimatefee", 0)
    fw.assert_raises_rpc(-32602, node.rpc, "estimatefee", 101)

    up = node.rpc("uptime")
    time.sleep(1.1)
    assert node.rpc("uptime") >= up + 1

    fw.assert_raises_rpc(-1, peer.rpc, "listtransactions", bob, contains="-addrindex")
    node.cli("send", "--from", "dev", "--to", bob, "--amount", "3", "--wait")
    node.cli("send", "--from", "bob", "--to", carol, "--amount", "1", "--wait")
    fw.wait_until(lambda: peer.height() >= node.height() - 1, 30, "the peer to sync")
    check_headers(node)
    check_addresses(node, bob)
    check_decode(node, dev, bob)
    check_listtransactions(node, dev, bob, carol)

    # The peer builds the index for the blocks it stored without it.
    peer.stop()
    peer.start(extra=["-addrindex"])
    fw.wait_until(lambda: len(peer.rpc("listtransactions", bob)) == 3, 30, "the peer's index")
    check_listtransactions(peer, dev, bob, carol)
    # -reindex with -addrindex indexes every block again, to the same answers.
    peer.stop()
    peer.start(extra=["-addrindex", "-reindex"])
    check_listtransactions(peer, dev, bob, carol)

    check_estimatefee_contested(tmpdir, nodes)
    check_waits(node)
    check_waitforjob(node)
    held = check_waiter_bound(node)
    time.sleep(0.3)  # the node reads the request and holds the call
    fw.assert_eq(node.stop(), 0, "stop with a waiter held")
    # The waiter is told (docs/rpc.md: HTTP 503), not cut off with 0 bytes:
    # the 503 used to be queued after the loop had stopped, then dropped.
    reply = read_to_close(held)
    assert reply.startswith(b"HTTP/1.1 503 "), reply
    held.close()


if __name__ == "__main__":
    fw.run(test)
