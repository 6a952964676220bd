"""assay-worker's output server faces anyone (docs/compute.md §13): a flood
of idle connections past its descriptor limit neither kills it (libevent
exited the process once a later RPC could not get a socket) nor spins it
(a failed accept pauses CLIENT_HTTP_ACCEPT_PAUSE_MS), while blocks go on."""

import time

import framework as fw

UNIT = 10**9
FD_LIMIT = 128
FLOOD = 200
COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 3, "min_bond": UNIT,
           "samples_k": 2, "salt_window": 3}


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    worker = fw.Worker(node, "w0", 0, ["-bond=100"], fd_limit=FD_LIMIT)
    nodes.append(worker.start())
    socks = fw.idle_connections(worker.port, FLOOD)
    time.sleep(0.5)
    cpu = fw.cpu_seconds(worker.proc.pid)
    time.sleep(2)
    spent = fw.cpu_seconds(worker.proc.pid) - cpu
    print(f"{len(socks)} idle connections under a {FD_LIMIT} descriptor limit: {spent:.2f}s CPU in 2s")
    assert spent < 0.5, f"the worker used {spent:.2f}s of CPU in 2s under the flood"
    assert worker.proc.poll() is None, f"the worker exited under the flood: {worker.tail()}"
    h = node.height()
    node.wait_for_height(h + 5, timeout=20)  # its RPCs fail meanwhile, and it stays up
    assert worker.proc.poll() is None, f"the worker exited under the flood: {worker.tail()}"
    for s in socks:
        s.close()


if __name__ == "__main__":
    fw.run(test)
