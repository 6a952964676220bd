"""A transaction admitted while its node has no peers is not lost: when a
peer connects later, the node announces its mempool to it (docs/p2p.md §6),
so the transaction reaches the validator and is committed. Without that, it
would sit in the isolated node's mempool for ever."""

import hashlib
import struct
import time

import framework as fw

TX_TRANSFER = 0
NEW_ACCOUNT_GAS = 11264  # a transfer that creates its recipient pays it (protocol.md §5.2)


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir).start()  # the dev validator
    nodes.append(a)
    lonely = fw.Node(1, tmpdir, extra_args=["-novalidator", "-nolisten"]).start()
    nodes.append(lonely)
    chain_id = bytes.fromhex(lonely.rpc("getblockchaininfo")["genesis_hash"])
    dev_seed = hashlib.sha256(b"assay/dev-key/0").digest()
    nonce = 0  # the dev key's first transaction on a fresh dev chain
    payload = bytes([0x11] * 20) + struct.pack("<Q", 1000)
    txid = lonely.rpc("sendrawtransaction", fw.raw_tx(dev_seed, chain_id, nonce, 10**6 + NEW_ACCOUNT_GAS, NEW_ACCOUNT_GAS, TX_TRANSFER, payload))
    fw.assert_eq(len(lonely.rpc("getpeerinfo")), 0, "the lonely node's peers")
    time.sleep(2.5)
    assert txid not in a.rpc("getrawmempool"), "the validator heard of it with no connection"
    lonely.rpc("addnode", fw.p2p_addr(a), "add")

    def committed():
        try:
            return a.rpc("gettransaction", txid).get("status") == "committed"
        except Exception:
            return False  # not heard of yet
    fw.wait_until(committed, 20, "the transaction to reach the validator and be committed")


if __name__ == "__main__":
    fw.run(test)
