"""A client of assay-faucet that sends its request one byte a second
(slowloris) is closed once FAUCET_REQUEST_DEADLINE_S = 20 s have passed
since its accept without a whole request (docs/faucet.md "Rules"): the
10 s idle timeout alone never fires on it, so without the deadline eight
such sockets per address hold their places for ever. Another client is
served meanwhile, and a client that asks again on its connection within
the deadline after each answer keeps it. Run twice: with the per-client
cap, and with -ip-interval=0 (behind a proxy: no per-client cap, the
deadline still holds)."""

import os
import time

import framework as fw
from wallet_faucet import Faucet, http

DEADLINE_S = 20  # FAUCET_REQUEST_DEADLINE_S


def status_request():
    return b"GET /status HTTP/1.1\r\nHost: faucet\r\n\r\n"


def read_reply(s):
    """The status line of one HTTP reply on s, its body read to its length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, "the faucet closed a connection that asked in time"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode()


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    for args in (["-amount=7"], ["-amount=7", "-ip-interval=0"]):
        faucet = Faucet(node, "dev", args).start()
        nodes.append(faucet)
        one_slow_client(faucet, " ".join(args))
        fw.assert_eq(faucet.stop(), 0, "the faucet's exit status on SIGTERM")
        nodes.remove(faucet)


def one_slow_client(faucet, what):
    log_from = os.path.getsize(faucet.log_path())
    slow = fw.connect_from(faucet.port, "127.0.0.3", 3)
    steady = fw.connect_from(faucet.port, "127.0.0.3", 3)
    head = b"GET /status HTTP/1.1\r\nHost: faucet\r\nX-Pad: " + b"a" * 4000
    start = time.time()
    closed_at = None
    asked = start
    for i in range(DEADLINE_S + 10):
        try:
            slow.send(head[i:i + 1])
        except OSError:
            closed_at = time.time()
            break
        if fw.closed_within(slow, 1):
            closed_at = time.time()
            break
        if time.time() - asked > 5:  # well inside the deadline and the idle timeout
            steady.sendall(status_request())
            fw.assert_eq(read_reply(steady), "HTTP/1.1 200 OK", "a request on a connection that asks in time")
            asked = time.time()
        if i == 3:
            fw.assert_eq(http(faucet.url + "/status")[0], 200, "another client meanwhile")
    assert closed_at is not None, f"a client sending a byte a second was still open after {time.time() - start:.0f} s"
    took = closed_at - start
    assert DEADLINE_S - 1 <= took <= DEADLINE_S + 4, f"the slow client was closed after {took:.1f} s"
    assert time.time() - asked < 10 and not fw.closed_within(steady, 0.1), "the steady client was closed"
    steady.close()
    slow.close()
    with open(faucet.log_path()) as f:
        f.seek(log_from)
        log = f.read()
    assert "(FAUCET_REQUEST_DEADLINE_S)" in log, log[-1500:]
    print(f"{what}: a client sending a byte a second was closed after {took:.1f} s; a steady one kept its connection")


if __name__ == "__main__":
    fw.run(test)
