"""Four nodes in a line A-B-C-D (A produces; B, C, D are -novalidator and
each -connect to the previous one): all reach the same tip hash and state
root, and a transfer sent to D travels D -> C -> B -> A by gossip, is
included in a block by A, and that block travels back so the transfer is
committed and visible on all four."""

import framework as fw


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir)
    b = fw.Node(1, tmpdir)
    c = fw.Node(2, tmpdir)
    d = fw.Node(3, tmpdir)
    # A dials only B, so that it does not learn C and D from B's address book
    # and the line stays a line.
    a.extra_args = ["-blocktime=200", f"-connect={fw.p2p_addr(b)}"]
    b.extra_args = ["-novalidator", f"-connect={fw.p2p_addr(a)}"]
    c.extra_args = ["-novalidator", f"-connect={fw.p2p_addr(b)}"]
    d.extra_args = ["-novalidator", f"-connect={fw.p2p_addr(c)}"]
    for n in (a, b, c, d):
        n.start()
        nodes.append(n)
    a.wait_for_height(10)
    height, tip, root = fw.sync_tips(nodes)
    assert height >= 10, height
    for n in nodes:
        fw.assert_eq(n.rpc("getblockhash", height), tip, f"node{n.index} block hash at {height}")

    # D's only peer is C: what D has came through the line.
    peers = d.rpc("getpeerinfo")
    fw.assert_eq(len(peers), 1, "peers of D")
    fw.assert_eq(peers[0]["addr"], fw.p2p_addr(c), "D's peer")
    assert not peers[0]["inbound"]
    # A sees only B: its own connection to B and B's to it.
    a_peers = a.rpc("getpeerinfo")
    assert 1 <= len(a_peers) <= 2, a_peers
    assert all(p["addr"] == fw.p2p_addr(b) for p in a_peers if not p["inbound"]), a_peers
    for n in (b, c, d):
        info = n.rpc("getblockchaininfo")
        fw.assert_eq(info["syncing"], False, f"node{n.index} syncing")
        fw.assert_eq(info["progress"], 1.0, f"node{n.index} progress")
        fw.assert_eq(info["genesis_hash"], a.rpc("getblockchaininfo")["genesis_hash"], "chain")

    # A transfer submitted at the far end.
    d.cli("wallet", "import-dev")
    d.cli("wallet", "create", "bob")
    bob = d.cli("wallet", "address", "bob").stdout.strip()
    txid = d.cli("send", "--from", "dev", "--to", bob, "--amount", "1.5").stdout.split()[0]
    fw.assert_eq(len(txid), 64, "txid")

    def committed_everywhere():
        for n in nodes:
            try:
                if n.rpc("gettransaction", txid)["status"] != "committed":
                    return False
            except fw.RPCError:
                return False
        return True

    fw.wait_until(committed_everywhere, 60, "the transfer to be committed on all four nodes")
    included = {n.rpc("gettransaction", txid)["height"] for n in nodes}
    fw.assert_eq(len(included), 1, "inclusion height agrees")
    block_height = included.pop()
    block_hash = a.rpc("getblockhash", block_height)
    for n in nodes:
        fw.assert_eq(n.rpc("getblockhash", block_height), block_hash, f"node{n.index} block {block_height}")
        fw.assert_eq(n.rpc("getaccount", bob)["balance"], 1500000000, f"node{n.index} bob's balance")
    # A produced it (the only producer), so the tx crossed three hops to get there.
    fw.assert_eq(a.rpc("gettransaction", txid)["result"]["ok"], True, "transfer succeeded")
    height, tip, root = fw.sync_tips(nodes)
    assert height >= block_height

    # addnode IP:PORT add|remove on D: an added peer can be removed once.
    other = fw.p2p_addr(a)
    d.rpc("addnode", other, "add")
    fw.assert_raises_rpc(-1, d.rpc, "addnode", other, "add", contains="already added")
    d.rpc("addnode", other, "remove")
    fw.assert_raises_rpc(-9, d.rpc, "addnode", other, "remove", contains="not added")
    fw.assert_raises_rpc(-32602, d.rpc, "addnode", other, "sometimes")
    d.rpc("addnode", other)  # a removed address may be added again


if __name__ == "__main__":
    fw.run(test)
