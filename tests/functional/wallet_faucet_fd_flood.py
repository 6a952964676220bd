"""A public faucet flooded with idle connections beyond its descriptor limit
(docs/faucet.md): when accept() fails it pauses new connections for
CLIENT_HTTP_ACCEPT_PAUSE_MS instead of retrying at once, so it neither spins a
core nor writes its log full (before: a whole core and 174 MB of log in
3 s), and once the flood's connections time out it serves requests again.
The flood comes from many loopback addresses, at most
FAUCET_CONNS_PER_CLIENT (8) from each: one client alone is held to those."""

import os
import subprocess
import time

import framework as fw
from wallet_faucet import Faucet, http

FD_LIMIT = 128
FLOOD = 200
PER_CLIENT = 8  # FAUCET_CONNS_PER_CLIENT


def status(url):
    """The HTTP status of GET /status, or 0 when it cannot be reached."""
    try:
        return http(url + "/status")[0]
    except OSError:
        return 0


class StarvedFaucet(Faucet):
    def start(self):
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

        env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=limit)
        fw.wait_until(lambda: status(self.url) == 200, 30, "the faucet to listen")
        return self


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    faucet = StarvedFaucet(node, "dev", ["-amount=7"]).start()
    nodes.append(faucet)
    socks = []
    for i in range(FLOOD // PER_CLIENT + 1):
        socks += fw.idle_connections(faucet.port, PER_CLIENT, f"127.0.1.{i + 1}")
    time.sleep(0.5)
    log0 = os.path.getsize(faucet.log_path())
    cpu = fw.cpu_seconds(faucet.proc.pid)
    time.sleep(2)
    spent = fw.cpu_seconds(faucet.proc.pid) - cpu
    grew = os.path.getsize(faucet.log_path()) - log0
    print(f"{len(socks)} idle connections under a {FD_LIMIT} descriptor limit: {spent:.2f}s CPU in 2s, "
          f"log +{grew} bytes")
    assert spent < 0.5, f"the faucet used {spent:.2f}s of CPU in 2s under the flood"
    assert grew < 4096, f"the log grew {grew} bytes in 2s"
    for s in socks:
        s.close()
    fw.wait_until(lambda: status(faucet.url) == 200, 30, "the faucet to answer again")


if __name__ == "__main__":
    fw.run(test)
