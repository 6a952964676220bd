"""Networks as data (docs/testnet.md): `assayd -network=testnet` with
nothing on disk runs the compiled genesis of docs/testnet/testnet/ (the
chain id is the one the file gives) and tries its placeholder seeds; a
-genesis that names the compiled chain but differs is refused before
anything starts, with both chain ids; the same file with another chain
name is a testnet of one's own and starts; and a node of it started with
-seednode finds the first one and syncs its blocks."""

import json
import os
import subprocess

import framework as fw

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "..", "docs", "testnet", "testnet", "genesis.json")
DOC = os.path.join(HERE, "..", "..", "docs", "testnet.md")


def test(tmpdir, nodes):
    # 1. The compiled entry.
    t = fw.Node(0, tmpdir, network="testnet", extra_args=["-novalidator"]).start()
    nodes.append(t)
    info = t.rpc("getblockchaininfo")
    fw.assert_eq(info["chain"], "assay-testnet-1", "chain of the compiled testnet")
    fw.assert_eq(info["network"], "testnet", "network")
    compiled_id = info["genesis_hash"]
    # docs/testnet.md states the compiled chain id: it must be this one
    doc = open(DOC).read()
    assert f"| chain id | `{compiled_id}` |" in doc, "docs/testnet.md's chain id of the compiled testnet is stale"
    assert f"has chain id {compiled_id[:8]}…" in doc, "docs/testnet.md's refusal example shows another chain id"
    fw.wait_until(lambda: "seed seed1.testnet.assay.invalid:19444" in open(t.log_path()).read(), 10,
                  "the placeholder seeds to be tried")
    assert "(genesis: compiled)" in open(t.log_path()).read()
    t.stop()

    # 2. An altered copy under the same chain name: refused, both ids shown.
    with open(SHIPPED) as f:
        genesis = json.load(f)
    altered = dict(genesis, validators=[dict(v, stake=v["stake"] + 1) for v in genesis["validators"]])
    path = os.path.join(tmpdir, "altered.json")
    with open(path, "w") as f:
        json.dump(altered, f)
    bad = fw.Node(1, tmpdir, network="testnet", extra_args=["-novalidator", f"-genesis={path}"])
    res = subprocess.run(bad.args(), capture_output=True, text=True, timeout=30)
    assert res.returncode != 0, "an altered assay-testnet-1 genesis was accepted"
    assert compiled_id in res.stderr and "names chain \"assay-testnet-1\"" in res.stderr, res.stderr
    assert "its chain id is " in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(bad.datadir, "chaindata")), "a chain database was made anyway"

    # 3. Renamed: a testnet of one's own, with a validator key of ours.
    seed = os.urandom(32)
    own = dict(genesis, chain="assay-mynet", validators=[{"pubkey": fw.ed25519_public_key(seed).hex(), "stake": 1}],
               params={"block_time_ms": 200})
    path = os.path.join(tmpdir, "mynet.json")
    with open(path, "w") as f:
        json.dump(own, f)
    key = os.path.join(tmpdir, "validator.json")
    with open(key, "w") as f:
        json.dump({"seed": seed.hex()}, f)
    v = fw.Node(2, tmpdir, network="testnet", extra_args=[f"-genesis={path}", f"-validator={key}"]).start()
    nodes.append(v)
    info = v.rpc("getblockchaininfo")
    fw.assert_eq(info["chain"], "assay-mynet", "own chain")
    assert info["genesis_hash"] != compiled_id
    assert "seed1.testnet.assay.invalid" not in open(v.log_path()).read(), "a private chain asked the public seeds"
    v.wait_for_height(3, timeout=60)

    # 4. A follower of it, given only the genesis and one -seednode.
    f2 = fw.Node(3, tmpdir, network="testnet",
                 extra_args=["-novalidator", f"-genesis={path}", f"-seednode={fw.p2p_addr(v)}"]).start()
    nodes.append(f2)
    fw.sync_tips([v, f2], timeout=60)


if __name__ == "__main__":
    fw.run(test)
