"""One client of assay-faucet holds at most FAUCET_CONNS_PER_CLIENT
connections at once (docs/faucet.md "Rules"): the next from the same
address is closed as soon as it is accepted, so one client cannot hold
every descriptor with idle sockets; another client is served meanwhile, and
once one of the first client's connections closes it may open another. The
client here is 127.0.0.2."""

import os
import time

import framework as fw
from wallet_faucet import Faucet, http

PER_CLIENT = 8  # FAUCET_CONNS_PER_CLIENT


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    faucet = Faucet(node, "dev", ["-amount=7"]).start()
    nodes.append(faucet)
    held = [fw.connect_from(faucet.port, "127.0.0.2", 3) for _ in range(PER_CLIENT)]
    time.sleep(0.3)
    extra = fw.connect_from(faucet.port, "127.0.0.2", 3)
    assert fw.closed_within(extra, 2), f"connection {PER_CLIENT + 1} from one client was kept open"
    extra.close()
    for i, s in enumerate(held):
        assert not fw.closed_within(s, 0.1), f"connection {i} within the cap was closed"
    fw.assert_eq(http(faucet.url + "/status")[0], 200, "another client's request meanwhile")
    held.pop().close()
    time.sleep(0.5)  # the faucet reads the close
    again = fw.connect_from(faucet.port, "127.0.0.2", 3)
    assert not fw.closed_within(again, 1), "a connection after one of the client's closed"
    again.close()
    for s in held:
        s.close()
    with open(faucet.log_path()) as f:
        log = f.read()
    assert "closed a connection from 127.0.0.2:" in log and "(FAUCET_CONNS_PER_CLIENT)" in log, log[-1500:]
    print(f"one client held {PER_CLIENT} connections; the next was closed on accept, another client served")


if __name__ == "__main__":
    fw.run(test)
