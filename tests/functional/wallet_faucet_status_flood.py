"""GET /status, which anyone may ask, makes at most one call to the node a
second (docs/faucet.md, FAUCET_STATUS_CACHE_MS): its balance is the one
the node gave within the last second. So a flood of /status neither loads
the node nor, with a hung node, holds the faucet's one loop for
FAUCET_RPC_TIMEOUT_MS a request: after the first times out, the others are
answered at once with the balance "unknown"."""

import time

import framework as fw
from wallet_faucet import Faucet, http


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    mode = {"hang": False}

    def lie(method, params, result):
        if mode["hang"] and method == "getaccount":
            time.sleep(8)
        return result

    hostile = fw.HostileNode(node, lie).start()
    try:
        faucet = Faucet(node, "dev", ["-amount=7"], rpcport=hostile.port)
        faucet.start()
        nodes.append(faucet)

        before = hostile.calls.get("getaccount", 0)
        start = time.time()
        for i in range(30):
            status, body = http(faucet.url + "/status")
            fw.assert_eq(status, 200, f"/status {i}")
            assert body["balance"] != "unknown", body
        took = time.time() - start
        calls = hostile.calls.get("getaccount", 0) - before
        assert calls <= 1 + int(took), f"{calls} getaccount calls for 30 /status in {took:.1f} s"
        time.sleep(1.1)
        http(faucet.url + "/status")
        fw.assert_eq(hostile.calls.get("getaccount", 0) - before, calls + 1, "asked again after a second")

        time.sleep(1.1)
        mode["hang"] = True
        start = time.time()
        for i in range(5):
            status, body = http(faucet.url + "/status")
            fw.assert_eq((status, body["balance"]), (200, "unknown"), f"/status {i} with the node hung")
        took = time.time() - start
        assert took < 7, f"5 /status with a hung node took {took:.1f} s"
        print(f"30 /status made {calls} call(s) to the node; 5 with it hung took {took:.1f} s")
    finally:
        mode["hang"] = False
        hostile.stop()


if __name__ == "__main__":
    fw.run(test)
