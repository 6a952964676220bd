"""kill -9 while transactions flow: on restart the tip is consistent (the
node checks the state root against the tip at start), no committed
transaction is lost, and -reindex from genesis reproduces the state root."""

import threading
import time

import framework as fw


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=100"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "bob")
    bob = node.cli("wallet", "address", "bob").stdout.strip()

    stop = threading.Event()
    sent = []

    def flow():
        while not stop.is_set():
            res = node.cli("send", "--from", "dev", "--to", bob, "--amount", "0.001", check=False)
            if res.returncode == 0:
                sent.append(res.stdout.split()[0])

    t = threading.Thread(target=flow)
    t.start()
    time.sleep(4)
    committed_before = node.height()
    node.kill9()
    stop.set()
    t.join()
    assert len(sent) > 3, f"only {len(sent)} transactions sent"

    node.start()
    info = node.rpc("getblockchaininfo")
    assert info["height"] >= committed_before, (info["height"], committed_before)
    tip = node.rpc("getblock", info["height"])
    fw.assert_eq(tip["state_root"], info["state_root"], "tip state root")
    # Every transaction the node reported committed before the crash still is.
    committed = 0
    for txid in sent:
        try:
            tx = node.rpc("gettransaction", txid)
        except fw.RPCError:
            continue  # was only in the mempool, which is not persisted
        if tx["status"] == "committed":
            committed += 1
            assert tx["height"] <= info["height"]
    assert committed > 0, "no transaction committed before the crash"
    bob_balance = node.rpc("getaccount", bob)["balance"]
    fw.assert_eq(bob_balance, committed * 1000000, "bob's balance matches the committed transfers")

    # Rebuild the state from the stored blocks and compare.
    # Read the tip from a node that makes no blocks: a validator could add
    # one between the read and the stop.
    node.stop()
    node.start(extra=["-novalidator"])
    before = node.rpc("getblockchaininfo")
    node.stop()
    node.start(extra=["-reindex", "-novalidator"])
    again = node.rpc("getblockchaininfo")
    fw.assert_eq(again["height"], before["height"], "height after reindex")
    fw.assert_eq(again["state_root"], before["state_root"], "state root after reindex")
    fw.assert_eq(node.rpc("getaccount", bob)["balance"], bob_balance, "bob after reindex")
    assert "reindex: done" in open(node.datadir + "/debug.log").read()


if __name__ == "__main__":
    fw.run(test)
