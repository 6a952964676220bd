"""assay-faucet on a dev chain (docs/faucet.md): `assay-cli faucet NAME
--url URL --wait` funds a fresh wallet (its balance on chain is the
faucet's -amount); a second request for that address inside -interval is
refused (429, with the wait); another address from the same client inside
-ip-interval is refused, and served once that passed (GET /request?address=);
a malformed address and one of another network are refused with clear
errors (400, exit status 2); the page and /status answer. Before any of
that, each numeric flag out of its range stops the faucet at once with the
range named (exit status 2), before it asks for a passphrase."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import framework as fw

AMOUNT_UNITS = 7 * 10**9  # -amount=7


class Faucet(fw.Process):
    def __init__(self, node, wallet, extra_args, rpcport=None):
        """rpcport: where it reaches the node (default node's own; a
        HostileNode's port puts one between them)."""
        self.node = node
        self.name = "assay-faucet"
        self.index = 100
        self.port = fw.unused_port(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.logpath = os.path.join(node.datadir, "faucet.log")
        self.args = [fw.binary("assay-faucet"), f"-datadir={node.datadir}", "-network=dev",
                     f"-rpcport={rpcport or node.rpcport}", f"-wallet={wallet}", f"-listen=127.0.0.1:{self.port}"] + extra_args

    def log_path(self):
        return self.logpath

    def start(self):
        env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"assay-faucet exited: {self.tail()}")
            try:
                urllib.request.urlopen(self.url + "/status", timeout=5).read()
                return True
            except OSError:
                return False
        fw.wait_until(up, 30, "the faucet to listen")
        return self


def http(url, body=None):
    """(status, JSON or text) of a GET, or of a POST when body is given."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def balance(node, address):
    return node.rpc("getaccount", address)["balance"]


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    for name in ("fresh", "second"):
        node.cli("wallet", "create", name)
    fresh = node.cli("wallet", "address", "fresh").stdout.strip()
    second = node.cli("wallet", "address", "second").stdout.strip()
    # 0. Numeric flags out of range stop it at once, naming the range,
    # before it asks for a passphrase or talks to the node.
    for flag, says in (("-rpcport=0", "use 1 to 65535"), ("-rpcport=65536", "use 1 to 65535"),
                       ("-interval=-5", "use 0 to 315360000"), ("-interval=315360001", "use 0 to 315360000"),
                       ("-ip-interval=3s", "use 0 to 315360000"), ("-amount=0", "use 0.000000001 to"),
                       ("-amount=1000001", "to 1000000.000000000 ASY"), ("-listen=127.0.0.1:0", "from 1 to 65535"),
                       ("-listen=127.0.0.1", "expected HOST:PORT")):
        bad = Faucet(node, "dev", [flag])
        env = {k: v for k, v in os.environ.items() if k != "ASSAY_PASSPHRASE"}
        res = subprocess.run(bad.args, capture_output=True, text=True, env=env, timeout=10,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        assert res.returncode == 2 and says in res.stderr and "passphrase" not in res.stderr.lower(), (flag, res)

    faucet = Faucet(node, "dev", ["-amount=7", "-interval=3600", "-ip-interval=3"]).start()
    nodes.append(faucet)

    # 1. A fresh wallet, by name, funded on chain.
    res = node.cli("faucet", "fresh", "--url", faucet.url, "--wait", "--timeout", "30")
    assert "sent 7.000000000 ASY to " + fresh in res.stdout, res.stdout
    assert "committed" in res.stdout, res.stdout
    fw.assert_eq(balance(node, fresh), AMOUNT_UNITS, "the fresh address's balance")

    # 2. The same address again inside -interval: refused, nothing sent.
    res = node.cli("faucet", fresh, "--url", faucet.url, check=False)
    fw.assert_eq(res.returncode, 1, "exit status of a refused request")
    assert "HTTP 429" in res.stderr and "try again in" in res.stderr, res.stderr
    status, body = http(faucet.url + "/request", {"address": fresh})
    fw.assert_eq(status, 429, "a second request by HTTP")
    assert 3000 < body["retry_after_s"] <= 3600, body

    # 3. Another address from the same client inside -ip-interval: refused;
    #    after it, served (GET with a query this time).
    status, body = http(faucet.url + "/request", {"address": second})
    fw.assert_eq(status, 429, "another address from the same IP")
    assert "client" in body["error"], body
    time.sleep(3.2)
    status, body = http(f"{faucet.url}/request?address={second}")
    fw.assert_eq(status, 200, f"after -ip-interval: {body}")
    fw.wait_until(lambda: balance(node, second) == AMOUNT_UNITS, 30, "the second address to be funded")

    # 4. Bad addresses: clear errors, exit status 2.
    res = node.cli("faucet", "dassay1notanaddress", "--url", faucet.url, check=False)
    fw.assert_eq(res.returncode, 2, "exit status for a malformed address")
    assert "not an Assay address" in res.stderr, res.stderr
    testnet_address = "tassay1ljh7lh3qumdhsv39ku02vx3skgv2weqtjcvqn6"  # valid, of network testnet
    status, body = http(faucet.url + "/request", {"address": testnet_address})
    fw.assert_eq(status, 400, "an address of another network")
    assert "network dev" in body["error"], body
    status, body = http(faucet.url + "/request", {"address": fresh[:-1] + ("q" if fresh[-1] != "q" else "p")})
    fw.assert_eq(status, 400, "an address with a bad checksum")
    assert "not an Assay address" in body["error"], body
    status, body = http(faucet.url + "/request", {"wallet": "fresh"})
    fw.assert_eq(status, 400, "a body without an address")
    assert "address" in body["error"], body
    status, body = http(faucet.url + "/request", {"address": fresh, "pad": "x" * 5000})
    fw.assert_eq(status, 400, "a body over 4096 bytes: the faucet's own answer")
    assert "over 4096 bytes" in body["error"], body

    # 5. The page and the status.
    status, page = http(faucet.url + "/")
    assert status == 200 and "<form" in page and "7.000000000 ASY" in page, page
    status, st = http(faucet.url + "/status")
    fw.assert_eq(st["served"], 2, "requests served")
    fw.assert_eq(st["network"], "dev", "network")
    fw.assert_eq(faucet.stop(), 0, "the faucet's exit status on SIGTERM")


if __name__ == "__main__":
    fw.run(test)
