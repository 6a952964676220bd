"""assay-faucet's settings file (docs/faucet.md "Settings file"): a value in
the file named by -conf takes effect (the amount sent, the interval
/status reports); a flag on the command line wins over the file; without
-conf the node's DATADIR/assay.conf gives the node's port. A malformed
line, a bad value, an unknown name and a -conf that is not there each stop
the faucet with exit status 2 and "PATH:LINE: why" before it asks for a
passphrase."""

import os
import subprocess

import framework as fw
from wallet_faucet import Faucet, balance, http

ASY = 10**9


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def refused(node, conf, says):
    bad = Faucet(node, "dev", [f"-conf={conf}"])
    env = {k: v for k, v in os.environ.items() if k != "ASSAY_PASSPHRASE"}
    res = subprocess.run(bad.args, capture_output=True, text=True, env=env, timeout=10,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    assert res.returncode == 2 and says in res.stderr and "passphrase" not in res.stderr.lower(), (says, res)


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    addrs = {}
    for name in ("one", "two", "three"):
        node.cli("wallet", "create", name)
        addrs[name] = node.cli("wallet", "address", name).stdout.strip()
    conf = write(os.path.join(tmpdir, "faucet.conf"),
                 "# the faucet's own settings\namount=3\ninterval=3600\nip-interval=0\n")

    # 1. The file's values take effect.
    faucet = Faucet(node, "dev", [f"-conf={conf}"]).start()
    nodes.append(faucet)
    status, st = http(faucet.url + "/status")
    assert st["amount"] == "3.000000000" and st["interval_s"] == 3600 and st["ip_interval_s"] == 0, st
    status, body = http(faucet.url + "/request", {"address": addrs["one"]})
    fw.assert_eq(status, 200, f"a request: {body}")
    fw.assert_eq(body["amount_units"], 3 * ASY, "the amount the file set")
    fw.wait_until(lambda: balance(node, addrs["one"]) == 3 * ASY, 30, "the first address to be funded")
    fw.assert_eq(faucet.stop(), 0, "the faucet's exit status on SIGTERM")

    # 2. A flag wins over the file; what the flag does not name still comes
    #    from it.
    faucet = Faucet(node, "dev", [f"-conf={conf}", "-amount=5"]).start()
    nodes.append(faucet)
    status, st = http(faucet.url + "/status")
    assert st["amount"] == "5.000000000" and st["interval_s"] == 3600, st
    status, body = http(faucet.url + "/request", {"address": addrs["two"]})
    fw.assert_eq(status, 200, f"a request: {body}")
    fw.wait_until(lambda: balance(node, addrs["two"]) == 5 * ASY, 30, "the second address to be funded")
    fw.assert_eq(faucet.stop(), 0, "the faucet's exit status on SIGTERM")

    # 3. Without -conf: the node's assay.conf gives the RPC port (the dev
    #    default is not the test node's), and its faucet-foreign names
    #    (the node's) are left alone.
    write(os.path.join(node.datadir, "assay.conf"), f"rpcport={node.rpcport}\nblocktime=200\n")
    faucet = Faucet(node, "dev", ["-amount=2"])
    faucet.args = [a for a in faucet.args if not a.startswith("-rpcport=")]
    faucet.start()
    nodes.append(faucet)
    status, body = http(faucet.url + "/request", {"address": addrs["three"]})
    fw.assert_eq(status, 200, f"a request through the port from assay.conf: {body}")
    fw.assert_eq(faucet.stop(), 0, "the faucet's exit status on SIGTERM")
    os.remove(os.path.join(node.datadir, "assay.conf"))

    # 4. Bad files stop it at once, naming the file and the line.
    refused(node, write(os.path.join(tmpdir, "bad1.conf"), "amount=3\njust words\n"),
            "bad1.conf:2: expected name=value")
    refused(node, write(os.path.join(tmpdir, "bad2.conf"), "# ok\namount=lots\n"),
            "bad2.conf:2: -amount=lots is not an amount in range")
    refused(node, write(os.path.join(tmpdir, "bad3.conf"), "amonut=3\n"),
            'bad3.conf:1: unknown option "amonut"')
    refused(node, write(os.path.join(tmpdir, "bad4.conf"), "interval=99999999999\n"),
            "bad4.conf:1: -interval=99999999999 is out of range: use 0 to 315360000")
    refused(node, write(os.path.join(tmpdir, "bad5.conf"), "datadir=/elsewhere\n"),
            'bad5.conf:1: unknown option "datadir"')
    refused(node, os.path.join(tmpdir, "absent.conf"), "absent.conf: no such file")


if __name__ == "__main__":
    fw.run(test)
