"""BFT through the node: four validators of equal stake on -network=local
with one genesis, each with its own key, all connected. They finalize
blocks with identical hashes and state roots; with one killed (-9) the other
three go on; with two of four stopped nothing is committed and nothing
forks; restarted, they catch up and the four go on together. Then a
two-validator chain, which stalled before the engine, finalizes blocks; a
validator whose sign-state file is torn or empty refuses to start, and one
beside a stale temporary sign-state ignores it."""

import json
import os
import subprocess
import time
import urllib.request

import framework as fw


def validator_chain(tmpdir, nodes, count, blocktime=200, first=0, signstate=None):
    base = fw.free_port_block()
    vals = [fw.Node(first + i, tmpdir, network="local", port_base=base) for i in range(count)]
    seeds = [os.urandom(32) for _ in vals]
    vals[0].cli("wallet", "create", "alice")
    vals[0].cli("wallet", "create", "bob")
    alice = vals[0].cli("wallet", "address", "alice").stdout.strip()
    bob = vals[0].cli("wallet", "address", "bob").stdout.strip()
    genesis = {
        "chain": f"assay-bft-test-{count}", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": blocktime},
        "balances": [{"address": alice, "amount": 10**6 * 10**9}],
        "validators": [{"pubkey": fw.ed25519_public_key(s).hex(), "stake": 100} for s in seeds],
    }
    for v, seed in zip(vals, seeds):
        keyfile = os.path.join(v.datadir, "validator.json")
        with open(keyfile, "w") as f:
            json.dump({"seed": seed.hex()}, f)
        with open(os.path.join(v.datadir, "genesis.json"), "w") as f:
            json.dump(genesis, f)
        v.extra_args += [f"-validator={keyfile}", f"-blocktime={blocktime}"]
        v.extra_args += [f"-addnode={fw.p2p_addr(o)}" for o in vals if o is not v]
    if signstate:  # what the first validator "already signed" before this start
        with open(os.path.join(vals[0].datadir, "signstate"), "w") as f:
            f.write(signstate)
    for v in vals:
        v.start()
        nodes.append(v)
    return vals, bob


def missed_votes(node):
    """assay_consensus_missed_votes_total from the node's /metrics, by address."""
    with urllib.request.urlopen(f"http://127.0.0.1:{node.rpcport}/metrics", timeout=10) as r:
        text = r.read().decode()
    prefix = 'assay_consensus_missed_votes_total{validator="'
    return {l[len(prefix):].split('"', 1)[0]: int(l.rsplit(" ", 1)[1])
            for l in text.splitlines() if l.startswith(prefix)}


def test(tmpdir, nodes):
    vals, bob = validator_chain(tmpdir, nodes, 4)
    # transfers flow while the four decide; the last one is waited for
    for i in range(5):
        vals[0].cli("send", "--from", "alice", "--to", bob, "--amount", "1", *(["--wait"] if i == 4 else []))
    fw.same_chain_at(vals, 30, timeout=60)
    balances = {v.rpc("getaccount", bob)["balance"] for v in vals}
    fw.assert_eq(len(balances), 1, f"bob's balance on the four: {balances}")
    assert balances.pop() == 5 * 10**9, "five transfers of 1 committed"
    # each block's last_commit names the late precommits too: the engine
    # decides on the first three of four, and the fourth, arriving within
    # the block time, joins the commit the next proposer builds on (it used
    # to be left out of nearly every block)
    full = sum(len(vals[0].rpc("getblock", h)["last_commit_signers"]) == 4 for h in range(6, 31))
    assert full >= 20, f"{full} of 25 blocks name all four validators in their last_commit"
    # the missed votes each node shows are the chain's: no validator counts
    # more than the blocks whose last_commit lacks it (the figure used to
    # count the engine's first quorum, and showed the slowest of the four
    # missing most heights)
    shown = [missed_votes(v) for v in vals]
    src = max(vals, key=lambda v: v.height())  # at or past every height counted above
    on_chain, signers = {}, {}
    for h in range(2, src.height() + 1):
        signers[h] = {s["address"] for s in src.rpc("getblock", h)["last_commit"]["signers"]}
    for a in set().union(*signers.values()):
        on_chain[a] = sum(a not in signed for signed in signers.values())
    for v, figures in zip(vals, shown):
        fw.assert_eq(sorted(figures), sorted(on_chain), f"validators in node {v.index}'s missed votes")
        for a, n in figures.items():
            assert n <= on_chain[a], f"node {v.index} shows {a} missing {n} heights, the chain {on_chain[a]}"
    cs = [v.rpc("getconsensusstate") for v in vals]
    for c in cs:
        assert c["running"] and c["validator"] and c["height"] >= 31, c
        assert c["step"] in ("propose", "prevote", "precommit"), c

    # one of four killed: three hold more than 2/3 and go on
    vals[3].kill9()
    h = max(v.height() for v in vals[:3])
    fw.same_chain_at(vals[:3], h + 5, timeout=40)

    # two of four down: no quorum, nothing committed, no fork
    vals[2].kill9()
    time.sleep(1.5)
    stalled = [v.height() for v in vals[:2]]
    time.sleep(3)
    fw.assert_eq([v.height() for v in vals[:2]], stalled, "heights with two of four down")
    top = max(stalled)
    fw.same_chain_at(vals[:2], min(stalled))

    # restarted: they catch up and all four finalize together
    vals[2].start()
    vals[3].start()
    fw.same_chain_at(vals, top + 5, timeout=60)

    for v in vals:
        v.stop()
    nodes.clear()

    # each validator's sign-state records what it signed last
    for v in vals:
        with open(os.path.join(v.datadir, "signstate")) as f:
            h, r, step, hsh = f.read().split()
        assert int(h) >= 30 and int(step) in (0, 1, 2) and len(hsh) == 64, (h, r, step, hsh)

    # two validators of equal stake: both are needed. The first one's
    # sign-state says it signed at height 1000: it refuses to sign below, so
    # nothing is committed; with the file moved away they finalize.
    pair, _ = validator_chain(tmpdir, nodes, 2, first=10, signstate="1000 0 2 " + "00" * 32 + "\n")
    time.sleep(4)
    fw.assert_eq([v.height() for v in pair], [0, 0], "heights while one of two refuses to sign")
    assert "refused to sign" in open(pair[0].log_path()).read()
    pair[0].stop()
    os.remove(os.path.join(pair[0].datadir, "signstate"))
    pair[0].start()
    fw.same_chain_at(pair, 10, timeout=40)

    # a sign-state that a crash or a full disk left torn (cut mid-line, or
    # empty) stops the validator at start with a clear error: it used to
    # take an empty file for a key that never signed and sign again
    pair[0].stop()
    path = os.path.join(pair[0].datadir, "signstate")
    with open(path) as f:
        line = f.read()
    for torn, said in (("", "is empty"), (line[:len(line) // 2], "is torn or corrupt")):
        with open(path, "w") as f:
            f.write(torn)
        pair[0].start(wait=False)
        try:
            rc = pair[0].proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the validator started on a sign-state of {torn!r}")
        pair[0].proc = None
        pair[0].log.close()
        assert rc != 0, "refused start exited with 0"
        with open(os.path.join(pair[0].datadir, "stdout.log"), errors="replace") as f:
            errors = [l for l in f.read().splitlines() if l.startswith("assayd: error:")]
        assert errors and said in errors[-1] and "refusing to sign" in errors[-1], errors
    # the line back, beside the temporary file a crash before its rename
    # leaves: that one is removed unread, and the pair goes on
    with open(path, "w") as f:
        f.write(line)
    with open(path + ".tmp", "w") as f:
        f.write("99999 0 2 " + "ab" * 32 + "\n")
    top = pair[1].height()  # stalled: one of two is down
    pair[0].start()
    fw.same_chain_at(pair, top + 3, timeout=40)
    assert not os.path.exists(path + ".tmp"), "the stale temporary sign-state is still there"
    with open(path) as f:
        h, _, _, _ = f.read().split()
    assert int(h) > top, f"signed at {h} after the restart at {top}"


if __name__ == "__main__":
    fw.run(test)
