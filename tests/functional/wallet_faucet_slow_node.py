"""assay-faucet in front of a node that has stopped answering (docs/faucet.md
"When the node fails"): the faucet answers one request at a time, so each
call to the node is given FAUCET_RPC_TIMEOUT_MS = 5 s, not the clients'
30 s. A request then fails with 503 and the timeout named within a few
seconds, instead of holding every client for up to a minute and a half;
once the node answers again the same address is served."""

import time

import framework as fw
from wallet_faucet import Faucet, balance, http

AMOUNT_UNITS = 7 * 10**9  # -amount=7
HANG_S = 12  # longer than FAUCET_RPC_TIMEOUT_MS, shorter than RPC_CLIENT_TIMEOUT_MS


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "fresh")
    fresh = node.cli("wallet", "address", "fresh").stdout.strip()
    mode = {"hang": False}

    def lie(method, params, result):
        if mode["hang"] and method == "getaccount":
            time.sleep(HANG_S)
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        faucet = Faucet(node, "dev", ["-amount=7"], rpcport=hostile.port)
        faucet.start()
        nodes.append(faucet)

        mode["hang"] = True
        start = time.time()
        try:
            status, body = http(faucet.url + "/request", {"address": fresh})
        except OSError as e:  # what a faucet blocked past its own idle timeout gives
            status, body = None, f"no answer: {e}"
        took = time.time() - start
        assert took < 9, f"a request to a hung node took {took:.1f} s: {status} {body}"
        fw.assert_eq(status, 503, f"a request to a hung node: {body}")
        assert "timed out after 5000 ms" in body["error"], body

        mode["hang"] = False
        time.sleep(HANG_S - took + 1)  # the hung calls' threads finish
        status, body = http(faucet.url + "/request", {"address": fresh})
        fw.assert_eq(status, 200, f"the same address once the node answers: {body}")
        fw.wait_until(lambda: balance(node, fresh) == AMOUNT_UNITS, 30, "the address to be funded")
        print(f"a request to a hung node failed in {took:.1f} s; served once the node answered")
    finally:
        hostile.stop()


if __name__ == "__main__":
    fw.run(test)
