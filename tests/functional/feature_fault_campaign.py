"""The fault campaign: kill -9 at random moments while transfers flow, for a
producer, for a syncing follower and for a node in the middle of -reindex.
After every restart: the tip is at or above the highest height seen before,
every block hash seen is unchanged, every transaction seen committed still
is, and the supply adds up to the genesis funds (transfers and fees only
move coins: dev pays bob, and the dev key is the proposer that earns the
fees). At the end -reindex agrees with the state root.

Rounds: ASSAY_FAULT_ROUNDS (default 20 for the producer, half of that for
the follower and the reindex case); run by hand with ASSAY_FAULT_ROUNDS=100
for the long campaign. ASSAY_FAULT_SEED fixes the kill moments."""

import os
import random
import threading
import time

import framework as fw

ROUNDS = int(os.environ.get("ASSAY_FAULT_ROUNDS", "20"))
SEED = int(os.environ.get("ASSAY_FAULT_SEED", str(int(time.time()))))
DEV_FUNDS = 10**9 * 10**9  # the dev key's genesis balance (docs/protocol.md §7)


class Ledger:
    """What the campaign has seen the node report: block hashes by height
    and the committed transactions."""

    def __init__(self):
        self.hashes = {}
        self.committed = set()
        self.top = 0

    def observe(self, node, upto=None):
        h = node.height()
        upto = h if upto is None else min(h, upto)
        for height in range(max(1, self.top - 2), upto + 1):
            blk = node.rpc("getblock", height)
            seen = self.hashes.setdefault(height, blk["hash"])
            fw.assert_eq(blk["hash"], seen, f"hash of block {height}")
        self.top = max(self.top, upto)

    def check(self, node, who, dev, bob, floor=None):
        """floor: for a node still catching up, the highest tip it reported
        itself; its blocks are checked up to its own tip and the committed
        transactions once it has caught up (floor None)."""
        h = node.height()
        caught_up = floor is None
        floor = self.top if caught_up else floor
        assert h >= floor, f"{who}: tip {h} below the {floor} seen before the kill"
        for height, want in self.hashes.items():
            if height <= h:
                fw.assert_eq(node.rpc("getblockhash", height), want, f"{who}: block {height} after restart")
        for txid in self.committed if caught_up else ():
            tx = node.rpc("gettransaction", txid)
            fw.assert_eq(tx["status"], "committed", f"{who}: tx {txid} after restart")
        supply = node.rpc("getaccount", dev)["balance"] + node.rpc("getaccount", bob)["balance"]
        fw.assert_eq(supply, DEV_FUNDS, f"{who}: dev + bob after restart")


def flow(node, bob, stop, sent):
    while not stop.is_set():
        res = node.cli("send", "--from", "dev", "--to", bob, "--amount", "0.001", check=False)
        if res.returncode == 0:
            sent.append(res.stdout.split()[0])


def note_committed(node, sent, ledger):
    for txid in list(sent):
        try:
            tx = node.rpc("gettransaction", txid)
        except fw.RPCError:
            continue
        if tx["status"] == "committed":
            ledger.committed.add(txid)
            sent.remove(txid)


def producer_rounds(node, dev, bob, ledger, rng):
    sent = []
    for i in range(ROUNDS):
        stop = threading.Event()
        t = threading.Thread(target=flow, args=(node, bob, stop, sent))
        t.start()
        time.sleep(rng.uniform(0.2, 1.2))
        try:
            note_committed(node, sent, ledger)
            ledger.observe(node)
        finally:
            time.sleep(rng.uniform(0, 0.3))  # kill at a moment nobody looked at
            node.kill9()
            stop.set()
            t.join()
        node.start()
        ledger.check(node, f"producer round {i}", dev, bob)
    note_committed(node, sent, ledger)
    assert len(ledger.committed) >= ROUNDS, f"only {len(ledger.committed)} transfers committed"


def follower_rounds(producer, follower, dev, bob, ledger, rng):
    # The producer's tip is ahead of a syncing follower's: each restart is
    # held to the highest tip the follower itself reported.
    own_top = 0
    for i in range(max(1, ROUNDS // 2)):
        time.sleep(rng.uniform(0.2, 1.0))
        fh = follower.height()
        own_top = max(own_top, fh)
        ledger.observe(follower, upto=fh)
        time.sleep(rng.uniform(0, 0.3))
        follower.kill9()
        follower.start()
        ledger.check(follower, f"follower round {i}", dev, bob, floor=own_top)
    fw.sync_tips([producer, follower], timeout=60)
    ledger.check(follower, "follower caught up", dev, bob)


def reindex_rounds(node, dev, bob, ledger, rng):
    """kill -9 (and once SIGTERM) partway through -reindex: the next start,
    with or without -reindex, comes back at the full tip."""
    before = node.rpc("getblockchaininfo")
    node.stop()
    for i in range(max(1, ROUNDS // 2)):
        # Even rounds start a new reindex; odd ones resume the one the
        # last kill interrupted (a start without -reindex must finish it).
        node.start(extra=(["-reindex"] if i % 2 == 0 else []) + ["-novalidator"], wait=False)
        time.sleep(rng.uniform(0.05, 0.6))
        if i == 0:
            node.stop()  # SIGTERM: stops cleanly, partway or done
        else:
            node.kill9()
    node.start(extra=["-novalidator"])
    log = open(node.log_path()).read()
    resumed = log.count("reindex: resuming an interrupted reindex")
    print(f"reindex: {resumed} starts resumed an interrupted reindex")
    assert resumed > 0, "no kill landed inside a reindex: the case tested nothing"
    again = node.rpc("getblockchaininfo")
    fw.assert_eq(again["height"], before["height"], "height after interrupted reindexes")
    fw.assert_eq(again["best_hash"], before["best_hash"], "tip after interrupted reindexes")
    fw.assert_eq(again["state_root"], before["state_root"], "state root after interrupted reindexes")
    ledger.check(node, "after interrupted reindexes", dev, bob)
    node.stop()
    node.start(extra=["-reindex", "-novalidator"])
    fw.assert_eq(node.rpc("getblockchaininfo")["state_root"], before["state_root"], "state root after reindex")
    assert "reindex: done" in open(node.log_path()).read()


def test(tmpdir, nodes):
    rng = random.Random(SEED)
    print(f"fault campaign: seed {SEED}, {ROUNDS} rounds")
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=100"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    dev = node.cli("wallet", "address", "dev").stdout.strip()
    node.cli("wallet", "create", "bob")
    bob = node.cli("wallet", "address", "bob").stdout.strip()
    ledger = Ledger()

    producer_rounds(node, dev, bob, ledger, rng)

    follower = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(node)}"]).start()
    nodes.append(follower)
    follower_rounds(node, follower, dev, bob, ledger, rng)
    follower.stop()

    ledger.observe(node)
    reindex_rounds(node, dev, bob, ledger, rng)


if __name__ == "__main__":
    fw.run(test)
