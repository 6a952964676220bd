"""Peers of another network, one connection per peer, and the metrics an
operator scrapes (docs/p2p.md §8, §9; docs/operations.md "Metrics").

1. A real node of another network (-network=local, its own genesis) dials a
   dev node: both sides disconnect without a ban. A raw peer from 127.0.0.1
   with the testnet magic, and one with the dev magic but another chain id,
   are disconnected without a ban too; then a dev node from 127.0.0.1 still
   connects (a ban of 127.0.0.1 cut off every local node).
2. One connection per node pair: two nodes that -addnode each other end with
   one connection, and a node that connected in is not dialed back at its
   listen port; a node told to -addnode its own address dials it once.
3. /metrics passes the Prometheus lint rules (promtool check metrics where
   it is installed; the same rules in Python always), and
   assay_p2p_bytes_total does not fall when a peer leaves."""

import json
import os
import re
import shutil
import subprocess
import time

import framework as fw
from p2p_bad_peer import MAGIC_DEV, RawPeer, frame, version

MAGIC_TESTNET = 0xB3C7C902


def peers(node):
    return node.rpc("getconnectioncount")


def local_network_node(tmpdir, index, connect):
    """A validator of a one-node -network=local chain of its own, dialing
    connect."""
    node = fw.Node(index, tmpdir, network="local", extra_args=[f"-connect={connect}", "-debug=net"])
    seed = os.urandom(32)
    keyfile = os.path.join(node.datadir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": seed.hex()}, f)
    genesis = {
        "chain": "assay-local-other", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": {"block_time_ms": 500},
        "balances": [],
        "validators": [{"pubkey": fw.ed25519_public_key(seed).hex(), "stake": 100}],
    }
    with open(os.path.join(node.datadir, "genesis.json"), "w") as f:
        json.dump(genesis, f)
    node.extra_args.append(f"-validator={keyfile}")
    return node


def log_text(node):
    with open(node.log_path(), errors="replace") as f:
        return f.read()


# ---- Prometheus text format lint (the rules promtool check metrics applies) ----

UNIT_ABBREVIATIONS = ["ms", "us", "ns", "s", "sec", "secs", "min", "mins", "b", "kb", "mb", "gb", "kib", "mib",
                      "bit", "bits", "pct", "percentage"]
NON_BASE_UNITS = ["milliseconds", "microseconds", "nanoseconds", "minutes", "hours", "days", "kilobytes",
                  "megabytes", "gigabytes", "bits", "percent"]


def lint_metrics(text):
    """Problems in a Prometheus text exposition: HELP and TYPE for every
    metric, counters named *_total and nothing else so, snake_case names,
    base units spelled out (seconds, bytes), no type in the name."""
    problems = []
    helps, types, samples = {}, {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# HELP "):
            name = line.split()[2]
            if name in helps:
                problems.append(f"{name}: second HELP")
            helps[name] = line.split(None, 3)[3] if len(line.split(None, 3)) > 3 else ""
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if name in types:
                problems.append(f"{name}: second TYPE")
            if name in samples:
                problems.append(f"{name}: TYPE after its samples")
            types[name] = kind
        elif line.startswith("#"):
            continue
        else:
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
            if not m:
                problems.append(f"unparsable sample line: {line!r}")
                continue
            float(m.group(3))
            samples.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    for name in samples:
        kind = types.get(name)
        if kind is None:
            problems.append(f"{name}: no TYPE")
        if not helps.get(name):
            problems.append(f"{name}: no HELP")
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: counter without _total")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{name}: _total on a {kind}")
        if name != name.lower() or ":" in name:
            problems.append(f"{name}: not snake_case")
        words = name.split("_")
        for w in words[1:]:
            if w in UNIT_ABBREVIATIONS:
                problems.append(f"{name}: abbreviated unit _{w}")
            if w in NON_BASE_UNITS:
                problems.append(f"{name}: non-base unit _{w} (use seconds or bytes)")
            if w in ("gauge", "counter", "histogram", "summary"):
                problems.append(f"{name}: metric type in the name")
    return problems, samples


def metrics(node):
    _, body = node.raw_request(None, auth="", method="GET", path="/metrics")
    return body.decode()


def p2p_bytes(samples):
    return {labels: v for labels, v in samples["assay_p2p_bytes_total"]}


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=200", "-debug=net"]).start()
    nodes.append(a)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])

    # 1a. A real node of another network dials A (and A answers in its own
    # magic): each side disconnects the other without points.
    other = local_network_node(tmpdir, 1, fw.p2p_addr(a))
    other.start()
    nodes.append(other)
    fw.wait_until(lambda: "another network" in log_text(a), 20, "A to drop the local-network node")
    fw.wait_until(lambda: "another network" in log_text(other), 20, "the local-network node to drop A")
    fw.assert_eq(a.rpc("listbanned"), [], "A's bans after a node of another network")
    fw.assert_eq(other.rpc("listbanned"), [], "the other network's bans")
    assert "bad magic" not in log_text(a), "another network's magic scored as bad magic"
    other.stop()

    # 1b. Raw peers from 127.0.0.1: testnet magic, then the right magic with
    # another chain id. Disconnected, never banned.
    p = RawPeer(a, 1)
    p.send(frame("version", version(chain_id), magic=MAGIC_TESTNET))
    assert p.closed_by_node(10), "a testnet-magic peer was not disconnected"
    p.close()
    p = RawPeer(a, 1)
    p.send(frame("version", version(os.urandom(32)), magic=MAGIC_DEV))
    assert p.closed_by_node(10), "a wrong-chain peer was not disconnected"
    assert 2 in p.rejects, f"a wrong-chain peer got rejects {p.rejects}, not 2 (wrong chain)"
    p.close()
    fw.assert_eq(a.rpc("listbanned"), [], "A's bans after peers of other networks")

    # 1c. A node of A's own network, from 127.0.0.1, still gets in.
    b = fw.Node(2, tmpdir, extra_args=["-novalidator", f"-addnode={fw.p2p_addr(a)}", "-debug=net"]).start()
    nodes.append(b)
    fw.wait_until(lambda: peers(b) == 1 and peers(a) == 1, 20, "B to connect to A")
    fw.same_chain_at([a, b], a.height())

    # 2a. A adds B too: both keep a target on the other. One connection
    # stays; before, each dialed the other and kept both.
    a.rpc("addnode", fw.p2p_addr(b), "add")
    time.sleep(4)  # more than a retry period (3 s) of both targets
    fw.assert_eq(peers(a), 1, "A's connections to B, each adding the other")
    fw.assert_eq(peers(b), 1, "B's connections to A, each adding the other")

    # 2b. C connects in (not -connect: it gossips and dials): A learns C's
    # listen port from its version and must not dial C back there.
    c = fw.Node(3, tmpdir, extra_args=["-novalidator", f"-addnode={fw.p2p_addr(a)}"]).start()
    nodes.append(c)
    fw.wait_until(lambda: peers(c) >= 1, 20, "C to connect to A")
    time.sleep(3)  # several dial rounds (250 ms) and a target retry
    to_c = [q for q in a.rpc("getpeerinfo") if q["addr"] == fw.p2p_addr(c)]
    fw.assert_eq(to_c, [], "A dialed C back at its listen port")
    # three nodes, one connection per pair: A has B and C; B and C may
    # have found each other through A's addresses, once
    fw.assert_eq(peers(a), 2, "A's connections (B and C)")
    assert peers(b) <= 2 and peers(c) <= 2, f"B has {peers(b)}, C has {peers(c)} connections to two nodes"

    # 2c. A node told to -addnode itself dials it once, finds its own
    # nonce, and never again.
    d = fw.Node(4, tmpdir, extra_args=["-novalidator", "-debug=net"])
    d.extra_args.append(f"-addnode={fw.p2p_addr(d)}")
    d.start()
    nodes.append(d)
    fw.wait_until(lambda: "connected to self" in log_text(d), 20, "D to notice it dialed itself")
    time.sleep(4)
    dials = log_text(d).count(f"dialing {fw.p2p_addr(d)}")
    fw.assert_eq(dials, 1, "D's dials of its own address")
    fw.assert_eq(peers(d), 0, "D's connections")

    # 3. Metrics: lint, and the traffic counter survives a peer leaving.
    text = metrics(a)
    problems, samples = lint_metrics(text)
    assert not problems, "metrics lint:\n" + "\n".join(problems) + "\n" + text
    promtool = shutil.which("promtool")
    if promtool:
        res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert res.returncode == 0, f"promtool check metrics: {res.returncode}\n{res.stdout}{res.stderr}"
    before = p2p_bytes(samples)
    assert before['{direction="sent"}'] > 0 and before['{direction="received"}'] > 0, before
    c.stop()
    b.stop()
    fw.wait_until(lambda: peers(a) == 0, 20, "A's peers to leave")
    time.sleep(3)  # closed connections are freed after their grace
    after = p2p_bytes(lint_metrics(metrics(a))[1])
    for direction in before:
        assert after[direction] >= before[direction], f"assay_p2p_bytes_total fell: {before} -> {after}"


if __name__ == "__main__":
    fw.run(test)
