"""More silent inbound connections than the node has descriptors for
(docs/reliability.md §2). The node caps p2p at what its descriptor limit
leaves after LevelDB's files and RPC, evicts the flood's youngest peers
instead of running out, pauses accepting rather than spinning if accept
ever fails, and keeps producing blocks, answering RPC and letting an honest
follower in."""

import os
import time

import framework as fw

FD_LIMIT = 1024
FLOOD = 1100  # above the limit itself, and the p2p budget it leaves (about 600)


def test(tmpdir, nodes):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, FLOOD + 200)), hard))  # ours, for the flood
    node = fw.StarvedNode(0, tmpdir, fd_limit=FD_LIMIT, extra_args=["-blocktime=200", "-maxconnections=2000"]).start()
    nodes.append(node)
    assert "p2p: at most" in open(node.log_path()).read(), "no p2p cap from the descriptor limit"
    socks = fw.idle_connections(node.port, FLOOD, "127.0.0.2")  # another net group than the follower's
    time.sleep(0.5)
    h = node.height()
    cpu = fw.cpu_seconds(node.proc.pid)
    time.sleep(2)
    spent = fw.cpu_seconds(node.proc.pid) - cpu
    open_fds = len(os.listdir(f"/proc/{node.proc.pid}/fd"))
    print(f"{len(socks)} silent connections under a {FD_LIMIT} descriptor limit: {open_fds} descriptors "
          f"open, {spent:.2f}s CPU in 2s")
    assert spent < 0.5, f"the node used {spent:.2f}s of CPU in 2s under the flood"
    assert open_fds < FD_LIMIT - 128, f"{open_fds} descriptors open of {FD_LIMIT}: nothing left for disk and RPC"
    node.wait_for_height(h + 2, timeout=20)  # blocks are still written
    node.rpc("getblockcount")

    follower = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(node)}"]).start()
    nodes.append(follower)
    start = time.time()
    fw.sync_tips([node, follower], timeout=40)
    print(f"follower in sync {time.time() - start:.1f}s after it started")
    for s in socks:
        s.close()


if __name__ == "__main__":
    fw.run(test)
