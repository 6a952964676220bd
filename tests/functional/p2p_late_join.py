"""A node that joins late syncs a long chain (well over 500 blocks made with a
10 ms block time), reporting syncing/sync_target/progress while it does,
and then follows new blocks by gossip. A second late node is killed with
kill -9 in the middle of its sync; after a restart it resumes from where its
database stopped (not from genesis) and catches up, with the same blocks and
state root as the producer."""

import time

import framework as fw


def info(node):
    return node.rpc("getblockchaininfo")


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=10"]).start()
    nodes.append(a)
    a.wait_for_height(1200, timeout=120)

    # 1. A late node syncs the whole chain, then follows.
    late = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"]).start()
    nodes.append(late)
    seen_syncing = []
    seen_done = []

    def caught_up():
        i = info(late)
        if i["syncing"]:
            seen_syncing.append(i)
            return False
        seen_done.append(i)
        return i["height"] >= 1200

    fw.wait_until(caught_up, 120, "the late node to sync 1200 blocks", interval=0.02)
    assert seen_syncing, "getblockchaininfo never reported syncing during a 1200-block sync"
    for i in seen_syncing:
        assert i["sync_target"] > i["height"], i
        assert 0.0 <= i["progress"] < 1.0, i
        assert abs(i["progress"] - i["height"] / i["sync_target"]) < 1e-9, i
    # Whenever it reports not syncing, progress is exactly 1.0. (A follower
    # one gossip block short of its peer reports syncing for that moment.)
    for i in seen_done:
        fw.assert_eq(i["progress"], 1.0, "progress when not syncing")
        fw.assert_eq(i["sync_target"], i["height"], "sync_target when not syncing")
    fw.assert_eq(late.rpc("getblockhash", 1000), a.rpc("getblockhash", 1000), "block 1000")
    # It follows: new blocks keep arriving, and the tips meet.
    h0 = late.height()
    late.wait_for_height(h0 + 100, timeout=60)
    fw.same_chain_at([a, late], a.height())

    # 2. kill -9 in the middle of a sync, then restart.
    victim = fw.Node(2, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"]).start()
    nodes.append(victim)
    target = a.height()
    killed_at = None
    deadline = time.time() + 60
    while time.time() < deadline:
        h = victim.height()
        if h >= 200:
            killed_at = h
            victim.kill9()
            break
        time.sleep(0.005)
    assert killed_at is not None, "victim did not start syncing"
    assert killed_at < target, f"victim finished ({killed_at} of {target}) before it could be killed mid-sync"
    victim.start()
    # One call gives a height and the state root at it together; the node
    # keeps syncing meanwhile, so the two are never read apart.
    tip_info = info(victim)
    resumed = tip_info["height"]
    # LevelDB commits each block atomically: the restart keeps (nearly) all
    # it had, instead of starting over at genesis.
    assert resumed >= killed_at - 1, (resumed, killed_at)
    fw.assert_eq(victim.rpc("getblock", resumed)["state_root"], tip_info["state_root"], "state after the crash")
    fw.wait_until(lambda: victim.height() >= target, 120, "the restarted node to catch up")
    fw.same_chain_at([a, late, victim], a.height())
    log = open(victim.datadir + "/debug.log").read()
    assert log.count("starting: network dev") == 2, "victim restarted once"


if __name__ == "__main__":
    fw.run(test)
