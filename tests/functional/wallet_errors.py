"""Wallet bad input against a real node: a wrong passphrase, a corrupt
keystore, an unknown wallet, bad addresses and amounts, an overdraft, an
unreachable node. Each gets a clear message and a distinct exit code, and
nothing is sent."""

import json
import os

import framework as fw


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "erin")
    erin = node.cli("wallet", "address", "erin").stdout.strip()
    path = os.path.join(node.datadir, "wallet", "erin.json")
    fw.assert_eq(oct(os.stat(path).st_mode & 0o777), "0o600", "keystore mode")

    res = node.cli("send", "--from", "dev", "--to", erin, "--amount", "1", passphrase="wrong", check=False)
    assert res.returncode == 1 and "wrong passphrase" in res.stderr, res.stderr

    with open(path) as f:
        ks = json.load(f)
    ks["cipher"]["ciphertext"] = "00" + ks["cipher"]["ciphertext"][2:]
    with open(os.path.join(node.datadir, "wallet", "broken.json"), "w") as f:
        json.dump(ks, f)
    os.chmod(os.path.join(node.datadir, "wallet", "broken.json"), 0o600)
    res = node.cli("send", "--from", "broken", "--to", erin, "--amount", "1", check=False)
    assert res.returncode == 1, res
    with open(os.path.join(node.datadir, "wallet", "garbage.json"), "w") as f:
        f.write("{not json")
    res = node.cli("wallet", "show", "garbage", check=False)
    assert res.returncode != 0 and res.stderr.strip(), res

    # an unknown flag is a usage error, before or after the command words
    for args in (("-nosuchflag", "getblockchaininfo"), ("balance", erin, "--nosuchflag")):
        res = node.cli(*args, check=False)
        assert res.returncode == 2 and "unknown option" in res.stderr, (args, res)

    res = node.cli("send", "--from", "nobody", "--to", erin, "--amount", "1", check=False)
    assert res.returncode != 0 and "nobody" in res.stderr, res.stderr
    res = node.cli("send", "--from", "dev", "--to", "dassay1xyz", "--amount", "1", check=False)
    assert res.returncode == 2, res
    res = node.cli("send", "--from", "dev", "--to", erin.replace("dassay", "tassay", 1), "--amount", "1", check=False)
    assert res.returncode == 2, res
    for bad in ("1.0000000001", "-1", "abc", ""):
        res = node.cli("send", "--from", "dev", "--to", erin, "--amount", bad, check=False)
        assert res.returncode == 2, (bad, res.stderr)
    res = node.cli("send", "--from", "erin", "--to", erin, "--amount", "1", check=False)
    assert res.returncode == 1 and "insufficient" in res.stderr, res.stderr

    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "nothing was sent")
    fw.assert_eq(node.rpc("getaccount", erin)["balance"], 0, "erin untouched")

    out = node.cli_json("balance", erin)
    fw.assert_eq(out["address"], erin, "json address")
    fw.assert_eq(out["balance"], 0, "json balance")
    fw.assert_eq(out["balance_asy"], "0.000000000", "json balance in ASY")

    node.stop()
    res = node.cli("balance", erin, check=False)
    assert res.returncode == 3 and str(node.rpcport) in res.stderr, res.stderr


if __name__ == "__main__":
    fw.run(test)
