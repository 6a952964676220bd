"""assay-faucet when the node's answer to sendrawtransaction is lost
(docs/faucet.md "HTTP interface"): the node took the transfer but the
connection broke before its reply. The faucet cannot tell it from a
transfer that never arrived, so it counts the request as served (503,
"may still arrive"): asked again for that address it refuses (429) instead
of signing a second transfer with the next nonce and paying twice. A
transaction the node refused outright (a JSON-RPC error) is not counted:
the same address is served on the next request."""

import framework as fw
from wallet_faucet import Faucet, balance, http

AMOUNT_UNITS = 7 * 10**9  # -amount=7


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    for name in ("lost", "refused"):
        node.cli("wallet", "create", name)
    lost = node.cli("wallet", "address", "lost").stdout.strip()
    refused = node.cli("wallet", "address", "refused").stdout.strip()
    mode = {"send": "drop"}

    def lie(method, params, result):
        return fw.RPC_DROPPED if method == "sendrawtransaction" and mode["send"] == "drop" else result

    def refuse(method, params):
        return method == "sendrawtransaction" and mode["send"] == "refuse"

    hostile = fw.HostileNode(node, lie, refuse_call=refuse).start()
    try:
        faucet = Faucet(node, "dev", ["-amount=7", "-interval=3600", "-ip-interval=0"], rpcport=hostile.port)
        faucet.start()
        nodes.append(faucet)

        # 1. The node takes the transfer; its answer never comes back.
        status, body = http(faucet.url + "/request", {"address": lost})
        fw.assert_eq(status, 503, f"a transfer whose answer was lost: {body}")
        first = body
        fw.wait_until(lambda: balance(node, lost) == AMOUNT_UNITS, 30, "the lost-answer transfer to commit")

        # 2. Asked again: refused, and nothing more is signed or sent.
        mode["send"] = "pass"
        status, body = http(faucet.url + "/request", {"address": lost})
        fw.assert_eq(status, 429, f"a retry after the lost answer: {body}")
        sends = [m for m, _ in hostile.requests if m == "sendrawtransaction"]
        fw.assert_eq(len(sends), 1, "sendrawtransaction calls after the retry")
        fw.wait_until(lambda: node.rpc("getmempoolinfo")["size"] == 0, 30, "the mempool to empty")
        fw.assert_eq(balance(node, lost), AMOUNT_UNITS, "the address was paid once")
        assert "may still arrive" in first["error"], first

        # 3. A transfer the node refuses outright is not counted.
        mode["send"] = "refuse"
        status, body = http(faucet.url + "/request", {"address": refused})
        fw.assert_eq(status, 503, f"a refused transfer: {body}")
        assert "refused the transaction" in body["error"], body
        mode["send"] = "pass"
        status, body = http(faucet.url + "/request", {"address": refused})
        fw.assert_eq(status, 200, f"the same address after a refusal: {body}")
        fw.wait_until(lambda: balance(node, refused) == AMOUNT_UNITS, 30, "the refused address to be funded")
        print("a lost answer counted as served (no second payment); a refusal not counted")
    finally:
        hostile.stop()


if __name__ == "__main__":
    fw.run(test)
