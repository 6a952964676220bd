"""A validator killed -9 at random moments and restarted: four validators on
-network=local, one of them (seeded choice, ASSAY_TEST_SEED to repeat a run)
killed and restarted again and again at random points of its rounds. The
chain keeps finalizing, all four agree on every hash, and the killed
validator never signs two different things for one (height, round, step):
every signature it released, across all its lives, is in its debug log and
none conflicts, and no validator saw duplicate-vote evidence. Restarts in the
middle of a height replay DATADIR/consensus.wal. Then the check is shown to
bite: the same validator started with -testdoublesign (refused without
ASSAY_TESTING=1) equivocates every round and the others report evidence.
A validator that got the stalled tip by block sync learns its commit from
gossip. Meanwhile another validator's engine is made to fail as out of memory
(a test hook) every few messages and is rebuilt from its WAL while the node
runs, with the same checks. Also checks the RPC and /metrics figures."""

import os
import random
import re
import time
import urllib.request

import framework as fw
from bft_four_validators import validator_chain

SIGNED = re.compile(r"consensus: signing step (\d) at height (\d+) round (\d+): ([0-9a-f]{64})")


def signatures(node):
    """(height, round, step) -> set of hashes, from every life's debug log."""
    seen = {}
    with open(node.log_path(), errors="replace") as f:
        for line in f:
            m = SIGNED.search(line)
            if m:
                step, h, r, hsh = m.groups()
                seen.setdefault((int(h), int(r), int(step)), set()).add(hsh)
    return seen


def evidence(nodes):
    return [n.rpc("getconsensusstate")["evidence"] for n in nodes]


def metrics(node):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.rpcport}/metrics", timeout=10) as r:
        return r.read().decode()


def start_with_env(node, env, extra=None, wait=True):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: v for k, v in env.items() if v is not None})
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
    try:
        node.start(extra=extra, wait=wait)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def conflicts(node):
    seen = signatures(node)
    return len(seen), {k: v for k, v in seen.items() if len(v) > 1}


def test(tmpdir, nodes):
    seed = int(os.environ.get("ASSAY_TEST_SEED", random.randrange(1 << 30)))
    print(f"seed {seed} (ASSAY_TEST_SEED={seed} repeats this run)")
    rng = random.Random(seed)
    vals, _ = validator_chain(tmpdir, nodes, 4)
    victim = vals[rng.randrange(4)]
    others = [v for v in vals if v is not victim]
    victim.stop()
    victim.extra_args.append("-debug=consensus")
    victim.start()
    # another validator's engine fails as if out of memory every 9th message
    # from a peer and is rebuilt from its WAL while the node runs
    rebuilder = others[1]
    rebuilder.stop()
    rebuilder.extra_args.append("-debug=consensus")
    start_with_env(rebuilder, {"ASSAY_TESTING": "1", "ASSAY_TEST_ENGINE_ENOMEM": "9"})
    fw.same_chain_at(vals, 4, timeout=40)

    start_height = max(v.height() for v in others)
    def resigned():
        return open(victim.log_path(), errors="replace").read().count("(again, replayed)")

    kills = 0
    while kills < 8 or (resigned() < 2 and kills < 24):
        if kills % 3 == 2:
            # at a random moment
            time.sleep(rng.uniform(0.05, 1.0))
        else:
            # in the few milliseconds of a height between its proposal and
            # its decision (most of a height is the proposer waiting out
            # -blocktime): caught up, then killed once it has voted
            fw.wait_until(lambda: victim.height() + 1 >= max(v.height() for v in others), timeout=20,
                          what="the restarted validator to catch up")
            fw.wait_until(lambda: victim.rpc("getconsensusstate")["step"] != "propose", timeout=20,
                          interval=0.005, what="the validator to vote")
            time.sleep(rng.uniform(0.0, 0.01))
        victim.kill9()
        kills += 1
        time.sleep(rng.uniform(0.0, 0.4))
        victim.start()
    # the three others held a quorum throughout: they kept finalizing
    fw.wait_until(lambda: min(v.height() for v in others) >= start_height + 8, timeout=30,
                  what="the chain to go on while one validator is killed")
    top = max(v.height() for v in vals)
    fw.same_chain_at(vals, top + 3, timeout=40)
    log = open(victim.log_path(), errors="replace").read()
    replays = sum(int(n) > 1 for n in re.findall(r"replaying (\d+) records", log))
    assert replays > 0, "no restart replayed inputs from the WAL"
    assert "(again, replayed)" in log, "no restart replayed a signature it had released"
    assert os.path.getsize(os.path.join(victim.datadir, "consensus.wal")) > 0

    # the property: never two different signatures for one (height, round, step)
    nseen, bad = conflicts(victim)
    assert nseen >= 10, f"only {nseen} signatures logged"
    assert not bad, f"conflicting signatures after restarts: {bad}"
    rebuilds = rebuilder.rpc("getconsensusstate")["engine_rebuilds"]
    assert rebuilds > 0, "the engine was never rebuilt"
    nrebuilt, bad = conflicts(rebuilder)
    assert nrebuilt >= 10 and not bad, f"conflicting signatures after rebuilds: {bad}"
    fw.assert_eq(evidence(vals), [0, 0, 0, 0], "duplicate-vote evidence seen")
    print(f"heights {start_height}..{top}, {replays} of {kills} restarts replayed inputs from the WAL, "
          f"{nseen} signatures checked, {log.count('signing step')} signing lines; "
          f"{rebuilds} engine rebuilds, {nrebuilt} signatures checked")

    # what the engine shows: power seen, the commit's signers, the figures
    cs = others[0].rpc("getconsensusstate")
    assert cs["total_power"] == 400, cs
    for kind in ("prevotes", "precommits"):
        assert 0 <= cs[kind]["power"] <= 400 and isinstance(cs[kind]["values"], list), cs
    blk = others[0].rpc("getblock", top)
    lc = blk["last_commit"]
    assert lc["height"] == top - 1 and lc["power_signed"] * 3 > lc["total_power"] * 2, lc
    assert {s["pubkey"] for s in lc["signers"]} == set(blk["last_commit_signers"]), lc
    text = metrics(others[0])
    for name in ("assay_consensus_height", "assay_consensus_round", "assay_consensus_step",
                 'assay_consensus_heights_decided_total{rounds="1"}', "assay_consensus_heights_timed_total",
                 "assay_consensus_proposal_to_commit_seconds_total", "assay_consensus_missed_votes_total{validator="):
        assert name in text, f"{name} missing from /metrics"
    missed = [int(l.rsplit(" ", 1)[1]) for l in text.splitlines()
              if l.startswith("assay_consensus_missed_votes_total{")]
    assert len(missed) == 4 and max(missed) > 0, f"the killed validator missed some commits: {missed}"
    decided = sum(int(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                  if l.startswith("assay_consensus_heights_decided_total{"))
    timed = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
             if l.startswith(("assay_consensus_heights_timed_total ", "assay_consensus_proposal_to_commit_seconds_total "))]
    assert decided > 0 and timed[0] > 0 and timed[1] > 0, (decided, timed)

    # block sync into the engine: the victim, stopped, misses blocks; with a
    # second validator down too the chain stalls at a tip the victim then
    # gets by block sync alone, without its commit. It connects that tip only
    # with the commit from the others' repeated precommits, which its engine
    # holds, so it can propose on that tip.
    victim.stop()
    h = max(v.height() for v in others)
    fw.wait_until(lambda: min(v.height() for v in others) >= h + 3, timeout=30, what="three going on")
    second = others[0]
    second.stop()
    up = others[1:]
    time.sleep(1.0)
    tip = max(v.height() for v in up)
    victim.start()
    fw.wait_until(lambda: victim.height() >= tip, timeout=30, what="the victim to sync the stalled tip")
    learnt = ("learnt the commit of the tip", "was in the engine's precommits", "joins with the commit the engine knows")
    fw.wait_until(lambda: any(m in open(victim.log_path(), errors="replace").read() for m in learnt),
                  timeout=15, what="the victim to learn the tip's commit")
    second.start()
    fw.same_chain_at(vals, tip + 3, timeout=40)
    fw.assert_eq(evidence(vals), [0, 0, 0, 0], "duplicate-vote evidence seen")

    # the check bites: a double-signing validator is caught by the others
    victim.stop()
    start_with_env(victim, {"ASSAY_TESTING": None}, extra=["-testdoublesign"], wait=False)
    victim.proc.wait(timeout=30)
    assert victim.proc.returncode != 0, "-testdoublesign started without ASSAY_TESTING=1"
    assert "only on a dev or local network" in open(victim.log_path(), errors="replace").read() or \
        "only on a dev or local network" in open(os.path.join(victim.datadir, "stdout.log"), errors="replace").read()
    victim.kill9()
    start_with_env(victim, {"ASSAY_TESTING": "1"}, extra=["-testdoublesign"])
    assert rebuilder.proc.poll() is None, "the node whose engine was rebuilt gave up"
    fw.wait_until(lambda: min(evidence(others)) > 0, timeout=30, what="evidence against the double signer")
    assert victim.rpc("getconsensusstate")["doublesigned"] > 0
    h = max(v.height() for v in vals)
    fw.same_chain_at(others, h + 2, timeout=30)


if __name__ == "__main__":
    fw.run(test)
