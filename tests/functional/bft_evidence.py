"""Evidence through the node (docs/protocol.md §10.3): a local chain whose
genesis set is A (run by the node, stake 1000) and B (stake 1, offline: A
alone holds more than 2/3). A raw peer sends two conflicting prevotes
signed with B's key for the node's next height. The engine reports them,
the node submits an evidence transaction signed with its own key, and once
it is in a block B is slashed evidence_slash_bps of its bond (burned) and
jailed, and leaves the set two blocks later. The same record sent again by
a client is a failed transaction."""

import json
import os
import struct
import time

import framework as fw
import p2p_bad_peer
from bft_bonding import build_tx
from p2p_bad_peer import RawPeer, varint

UNIT = 10**9
MAGIC_LOCAL = 0xC2B6B8F1  # docs/p2p.md: the local network's frames
_dev_frame = p2p_bad_peer.frame


def frame(cmd, payload=b"", **kw):
    return _dev_frame(cmd, payload, magic=MAGIC_LOCAL, **kw)


p2p_bad_peer.frame = frame  # RawPeer's handshake frames too


def prevote(chain_id, seed, height, value):
    """docs/consensus.md §3: type height round has_value value validator sig."""
    sighash = fw.tagged_hash("assay/vote", chain_id + bytes([1]) + struct.pack("<QI", height, 0) + value)
    body = bytes([1]) + struct.pack("<QI", height, 0) + b"\x01" + value + fw.ed25519_public_key(seed)
    return body + fw.ed25519_sign(seed, sighash)


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, network="local")
    seed_a, seed_b = os.urandom(32), os.urandom(32)
    pk_a, pk_b = fw.ed25519_public_key(seed_a).hex(), fw.ed25519_public_key(seed_b).hex()
    seed_file = os.path.join(tmpdir, "seed_a")
    with open(seed_file, "w") as f:
        f.write(seed_a.hex())
    a.cli("wallet", "import", "akey", "--seed-file", seed_file)
    address_a = a.cli("wallet", "address", "akey").stdout.strip()
    genesis = {
        "chain": "assay-bft-evidence", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": 200, "downtime_window": 1000, "downtime_max_missed": 999},
        "balances": [{"address": address_a, "amount": 10 * UNIT}],  # the node pays the evidence fee
        "validators": [{"pubkey": pk_a, "stake": 1000}, {"pubkey": pk_b, "stake": 1}],
    }
    keyfile = os.path.join(a.datadir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": seed_a.hex()}, f)
    with open(os.path.join(a.datadir, "genesis.json"), "w") as f:
        json.dump(genesis, f)
    a.extra_args += [f"-validator={keyfile}", "-blocktime=200"]
    a.start()
    nodes.append(a)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(3)

    def b_record():
        vs = a.rpc("getvalidators")
        return [v for v in vs["validators"] + vs["others"] if v["pubkey"] == pk_b][0]

    p = RawPeer(a, 31)
    p.handshake(chain_id)
    sent = []
    deadline = time.time() + 40
    while not b_record()["jailed"] and time.time() < deadline:
        # signing here is slow: the pair is made for a height a few seconds
        # ahead and sent when the engine is just below it or at it
        h = a.rpc("getconsensusstate")["height"] + 15
        pair = [prevote(chain_id, seed_b, h, os.urandom(32)) for _ in range(2)]
        fw.wait_until(lambda: a.rpc("getconsensusstate")["height"] >= h - 1, 20, f"engine at {h - 1}",
                      interval=0.01)
        for body in pair:
            p.send(frame("vote", varint(len(body)) + body))
        sent.append((h, pair))
        fw.wait_until(lambda: a.height() > h + 1, 20, "two more blocks")
    p.close()
    rec = b_record()
    assert rec["jailed"], f"B not jailed after evidence for heights {[h for h, _ in sent]}: {rec}"
    # slashed 5% (evidence_slash_bps 500) per height punished, burned
    assert rec["bond"] <= UNIT - UNIT * 500 // 10000, rec
    assert "evidence transaction submitted" in open(a.log_path()).read()
    # out of the set two blocks after
    fw.wait_until(lambda: pk_b not in [v["pubkey"] for v in a.rpc("getvalidators")["validators"]], 20,
                  "B out of the set")
    fw.assert_eq(a.rpc("getvalidators")["total_power"], 1000, "A alone")

    # the same evidence again, from a client: included, failed
    h, (x, y) = sent[-1]  # the loop stopped once this one had jailed B
    first, second = sorted([x, y])
    record = bytes([1]) + first + second
    nonce = a.rpc("getaccount", address_a)["nonce"]
    txid = a.rpc("sendrawtransaction", build_tx(chain_id, seed_a, nonce, 1000, 12, record))
    fw.wait_until(lambda: a.rpc("gettransaction", txid).get("status") == "committed", 20, "evidence committed")
    res = a.rpc("gettransaction", txid)["result"]
    assert not res["ok"] and "already punished" in res["error"], res
    h = a.height()
    a.wait_for_height(h + 3, timeout=20)


if __name__ == "__main__":
    fw.run(test)
