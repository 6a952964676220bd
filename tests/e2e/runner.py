#!/usr/bin/env python3
"""End-to-end runner for BFT networks on real processes on loopback (in the
spirit of CometBFT's test/e2e). A manifest (tests/e2e/manifests/*.json,
format in docs/e2e.md) names the validators and their stake, the followers,
compute workers, a transaction (and job) load and a sequence of
perturbations, each hitting one node
or several at once: kill (kill -9, restarted after a delay), pause
(SIGSTOP, SIGCONT after a delay), restart (SIGTERM, then start again),
disconnect (the node bans the loopback address, so it drops and refuses
every peer; healed by lifting the ban), and the feature-gated double_sign
and bond. After each perturbation the runner checks that the chain goes on
while less than a third of the voting power is down, that nothing is
committed and nothing forks while a third or more is down, and that every
node catches up after healing; at the end, that every node holds the same
block hash and state root at every height and that no honest validator
signed two conflicting votes. Standard library only; the network is built
with tests/functional/framework.py.

Usage: runner.py [--build DIR] [--seed N] [--keep] MANIFEST.json
Exit status: 0 passed, 1 failed (after "FAIL: ..." and log tails)."""

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "functional"))

import framework as fw  # noqa: E402

# The genesis "compute" object when a manifest has workers and names none
# (short windows, as the compute functional tests use).
DEFAULT_COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": 10**9,
                   "samples_k": 2}
JOB_FINAL = ("paid", "failed", "refunded")
KINDS = ("kill", "pause", "restart", "disconnect", "double_sign", "bond")
LOOPBACK = "127.0.0.1"
# the engine's duplicate-vote report, as node/consensus.c logs it ("signed two
# votes", or "two prevotes" / "two precommits")
EQUIVOCATION = re.compile(r"consensus: validator ([0-9a-f]{64}) signed two \w+ at height (\d+) round (\d+)")


def log(msg):
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_manifest(path):
    with open(path) as f:
        m = json.load(f)
    nodes = [v["name"] for v in m["validators"]] + [f["name"] for f in m.get("followers", [])]
    names = nodes + [w["name"] for w in m.get("workers", [])]
    if len(set(names)) != len(names):
        raise SystemExit(f"{path}: node and worker names repeat")
    for w in m.get("workers", []):
        if w.get("node") not in nodes:
            raise SystemExit(f"{path}: worker {w['name']} names no node of the manifest")
    for p in m.get("perturbations", []):
        if p["kind"] not in KINDS:
            raise SystemExit(f"{path}: unknown perturbation kind {p['kind']!r}")
        for n in targets(p):
            if n not in names:
                raise SystemExit(f"{path}: perturbation hits unknown node {n!r}")
            if n not in nodes and p["kind"] not in ("kill", "pause", "restart"):
                raise SystemExit(f"{path}: {p['kind']} cannot hit worker {n!r}")
    return m


def targets(p):
    t = p.get("node", p.get("nodes", []))
    return [t] if isinstance(t, str) else list(t)


def validator_key(v):
    """The public key (hex) of a getvalidators entry."""
    return v.get("pubkey") or v.get("public_key")


def validator_records(node):
    """Every entry getvalidators shows: the set's and the others (jailed,
    unbonding, entering later), as {pubkey: entry}."""
    res = node.rpc("getvalidators")
    entries = res if isinstance(res, list) else res.get("validators", []) + res.get("others", [])
    return {validator_key(v): v for v in entries}


def in_set(node, pubkey):
    res = node.rpc("getvalidators")
    entries = res if isinstance(res, list) else res.get("validators", [])
    return next((v for v in entries if validator_key(v) == pubkey), None)


def double_sign_flag():
    text = subprocess.run([fw.binary("assayd"), "-help"], capture_output=True, text=True).stdout
    m = re.search(r"(-\w*double\w*)", text)
    return m.group(1) if m else None


def node_has_method(name):
    """Whether assayd registers RPC method `name` (its name is in the binary)."""
    with open(fw.binary("assayd"), "rb") as f:
        return name.encode() + b"\0" in f.read()


def feature_missing(kind):
    """None when the build has what perturbation `kind` needs, else why not.
    double_sign needs assayd's test-only double-signing flag and validator
    records (getvalidators: evidence, slashing and jailing); bond needs
    getvalidators (the bond itself goes through `assay-cli validator bond`
    where the CLI has it, else as a raw validator_bond transaction)."""
    if kind in ("double_sign", "bond") and not node_has_method("getvalidators"):
        return "assayd has no getvalidators (validator records, bonds, evidence)"
    if kind == "double_sign" and not double_sign_flag():
        return "assayd has no test-only double-signing flag"
    return None


@contextlib.contextmanager
def environment(**env):
    """os.environ with env set, for a node started inside (assayd reads
    ASSAY_TESTING at start)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Load(threading.Thread):
    """Transfers at `rate` per second, each through `assay-cli send` to a
    node that is up, from that node's own funded wallet (so nonces do not
    race between mempools). Refusals and nodes going away are counted, not
    failures: the checks are on what gets committed."""

    def __init__(self, runner, rate, amount="0.001", jobs_every_s=None):
        super().__init__(daemon=True)
        self.runner = runner
        self.rate = rate
        self.amount = amount
        self.jobs_every_s = jobs_every_s
        self.jobs = []  # ids of the jobs submitted
        self.next_job = time.time()
        self.stop_event = threading.Event()
        self.sent = self.refused = 0

    def submit_job(self):
        """A small matmul-i8 job from the "jobs" wallet (on the first node)."""
        node = self.runner.net[0]
        if self.runner.state[node.name] != "up":
            return
        res = node.cli("job", "submit", "--from", "jobs", "--kind", "matmul-i8", "--m", "32", "--n", "16",
                       "--k", "32", "--tile-rows", "16", "--tile-cols", "16", "--samples", "2",
                       "--reward", "1", check=False)
        if res.returncode == 0:
            self.jobs.append(res.stdout.split()[0])

    def run(self):
        rng = random.Random(self.runner.seed + 1)
        while not self.stop_event.wait(1.0 / self.rate):
            if self.jobs_every_s and time.time() >= self.next_job:
                self.next_job = time.time() + self.jobs_every_s
                self.submit_job()
            up = [n for n in self.runner.net if self.runner.state[n.name] in ("up", "disconnected")
                  and n.name in self.runner.load_wallet]
            if not up:
                continue
            n = rng.choice(up)
            try:
                res = n.cli("send", "--from", self.runner.load_wallet[n.name], "--to", self.runner.sink,
                            "--amount", self.amount, check=False)
                if res.returncode == 0:
                    self.sent += 1
                else:
                    self.refused += 1
            except (subprocess.TimeoutExpired, OSError):
                self.refused += 1

    def stop(self):
        self.stop_event.set()
        self.join(30)


class Runner:
    def __init__(self, manifest, tmpdir, nodes, seed=None):
        self.m = manifest
        self.tmpdir = tmpdir
        self.nodes = nodes
        self.seed = manifest.get("seed", 1) if seed is None else seed
        self.rng = random.Random(self.seed)
        self.blocktime = manifest.get("block_time_ms", 200)
        self.progress_blocks = manifest.get("progress_blocks", 3)
        self.timeout = manifest.get("timeout_s", 30)
        self.hold = manifest.get("halt_hold_s", 3)
        self.results = []  # (label, "ok" | "skipped: ...")
        self.double_signers = set()

    # ---- the network ----

    def build(self):
        vals = self.m["validators"]
        fols = self.m.get("followers", [])
        names = [v["name"] for v in vals] + [f["name"] for f in fols]
        wallets = [(f"load-{name}", i) for i, name in enumerate(names)] + [("sink", 0)]
        workers = self.m.get("workers", [])
        wallets += [(w["name"], names.index(w["node"])) for w in workers]
        jobs = (self.m.get("load") or {}).get("jobs_every_s")
        if jobs:
            wallets.append(("jobs", 0))
        compute = self.m.get("compute", DEFAULT_COMPUTE) if workers else None
        bonders = [i for i, f in enumerate(fols) if f.get("bond")]
        self.net, addrs = fw.bft_network(self.tmpdir, self.nodes, [v["stake"] for v in vals], len(fols),
                                         blocktime=self.blocktime, wallets=wallets, compute=compute,
                                         params=self.m.get("params"),
                                         chain=f"assay-e2e-{self.m.get('name', 'net')}", start=False)
        self.addrs = addrs
        for n, name in zip(self.net, names):
            n.name = name
        self.by_name = {n.name: n for n in self.net}
        self.load_wallet = {name: f"load-{name}" for name in names}
        self.sink = addrs["sink"]
        for i in bonders:  # a follower that may bond later holds a validator key of its own
            n = self.net[len(vals) + i]
            n.seed = os.urandom(32)
            n.pubkey = fw.ed25519_public_key(n.seed).hex()
            n.bond_amount = fols[i]["bond"]
        self.state = {n.name: "up" for n in self.net}
        for n in self.net:
            n.start()
        self.workers = []
        for i, w in enumerate(workers):
            node = self.by_name[w["node"]]
            wk = fw.Worker(node, w["name"], i, [f"-bond={w.get('bond', 100)}"])
            wk.name = w["name"]
            wk.role = "worker"
            wk.stake = 0
            self.workers.append(wk)
            self.by_name[wk.name] = wk
            self.state[wk.name] = "up"
        stakes = ", ".join(f"{v['name']}={v['stake']}" for v in vals)
        log(f"network: {len(vals)} validators ({stakes}), "
            f"{len(fols)} followers, block time {self.blocktime} ms, ports from {self.net[0].rpcport}, "
            f"data under {self.tmpdir}")

    def power(self):
        return {n.name: n.stake for n in self.net if n.role == "validator"}

    def live(self):
        """Nodes whose RPC answers and that talk to their peers."""
        return [n for n in self.net if self.state[n.name] == "up"]

    def reachable(self):
        return [n for n in self.net if self.state[n.name] in ("up", "disconnected")]

    def check_alive(self):
        for n in self.net + self.workers:
            if self.state[n.name] in ("up", "disconnected", "paused") and n.proc and n.proc.poll() is not None:
                raise AssertionError(f"{n.name} exited with {n.proc.returncode}: {n.tail()}")

    # ---- perturbations ----

    def apply(self, kind, node):
        name = node.name
        if kind == "restart" and node.role == "worker":
            node.stop()
            self.state[name] = "stopped"
        elif kind == "kill":
            node.kill9()
            self.state[name] = "killed"
        elif kind == "pause":
            os.kill(node.proc.pid, signal.SIGSTOP)
            self.state[name] = "paused"
        elif kind == "restart":
            rc = node.stop()
            if rc != 0:
                raise AssertionError(f"{name} exited {rc} on SIGTERM: {node.tail()}")
            self.state[name] = "stopped"
        elif kind == "disconnect":
            node.rpc("setban", LOOPBACK, "add", 3600)
            fw.wait_until(lambda: not node.rpc("getpeerinfo"), 10, f"{name} to drop its peers")
            self.state[name] = "disconnected"

    def heal(self, kind, node):
        name = node.name
        if kind in ("kill", "restart") and node.role == "worker":
            node.start(wait_registered=False)
        elif kind in ("kill", "restart"):
            node.start()
        elif kind == "pause":
            os.kill(node.proc.pid, signal.SIGCONT)
        elif kind == "disconnect":
            node.rpc("setban", LOOPBACK, "remove")
        self.state[name] = "up"

    def down_power(self):
        return sum(n.stake for n in self.net if n.role == "validator" and self.state[n.name] != "up")

    def expect_progress(self, label):
        live_vals = [n for n in self.live() if n.role == "validator"]
        start = max(n.height() for n in live_vals)
        target = start + self.progress_blocks
        fw.same_chain_at(self.live(), target, timeout=self.timeout)
        log(f"  {label}: the chain goes on ({start} -> {target} on {len(self.live())} live nodes)")

    def expect_halt(self, label, hold):
        time.sleep(1.5)  # a block whose precommits were already out may still land
        before = {n.name: n.height() for n in self.reachable()}
        time.sleep(hold)
        after = {n.name: n.height() for n in self.reachable()}
        # a node may still fetch a block another one had decided, but none is new
        fw.assert_eq(max(after.values()), max(before.values()),
                     f"{label}: highest block with a third or more of the power down ({before} -> {after})")
        fw.chain_agreement(self.reachable())
        log(f"  {label}: halted at {sorted(set(after.values()))}, no fork among {len(after)} reachable nodes")

    def expect_signing(self, vals, above, label):
        """Waits until each of vals has signed a commit above height `above`
        (its key in a later block's last_commit_signers): back in the vote."""
        watcher = self.live()[0]
        seen = set()
        h = [above + 1]

        def signed():
            while h[0] <= watcher.height():
                seen.update(watcher.rpc("getblock", h[0])["last_commit_signers"])
                h[0] += 1
            return all(v.pubkey in seen for v in vals)
        fw.wait_until(signed, self.timeout, f"{label}: {[v.name for v in vals]} signing commits again", interval=0.2)

    def perturb(self, p):
        kind = p["kind"]
        hit = [self.by_name[t] for t in targets(p)]
        label = f"{kind} {'+'.join(n.name for n in hit)}" + (f" x{p['repeat']}" if p.get("repeat", 1) > 1 else "")
        missing = feature_missing(kind)
        if missing:
            log(f"{label}: skipped: feature missing ({missing})")
            self.results.append((label, f"skipped: feature missing ({missing})"))
            return
        if kind == "double_sign":
            return self.double_sign(p, hit, label)
        if kind == "bond":
            return self.bond(p, hit, label)
        delay = p.get("delay_s", 0 if kind == "restart" else 3)
        for _ in range(p.get("repeat", 1)):
            if p.get("random_moment"):  # somewhere inside a height, not at its start
                time.sleep(self.rng.uniform(0, 2 * self.blocktime / 1000))
            total = sum(self.power().values())
            for n in hit:
                self.apply(kind, n)
            down = self.down_power()
            log(f"{label}: {down}/{total} of the power down")
            t0 = time.time()
            cut = {n.name: n.height() for n in hit if kind == "disconnect"}
            if 3 * down < total:
                self.expect_progress(label)
            else:
                self.expect_halt(label, max(self.hold, delay - 1.5))
            time.sleep(max(0.0, delay - (time.time() - t0)))
            for n in hit:
                if kind == "disconnect":  # alone, it cannot have committed more than a block in flight
                    assert n.height() <= cut[n.name] + 1, f"{label}: {n.name} went on while cut off"
                self.heal(kind, n)
            self.check_alive()
            top = max(n.height() for n in self.live())
            fw.same_chain_at(self.live(), top + self.progress_blocks, timeout=self.timeout + 30)
            self.expect_signing([n for n in hit if n.role == "validator"], top, label)
            log(f"  {label}: healed, all {len(self.live())} nodes at {top + self.progress_blocks} with one chain, "
                f"the healed validators signing")
        self.results.append((label, "ok"))

    def double_sign(self, p, hit, label):
        """Restarts the validators with the test-only double-signing flag
        (which assayd takes only with ASSAY_TESTING=1 on dev/local); an
        evidence transaction must then be committed, and each of them be
        jailed with a smaller bond (slashed), while the chain goes on."""
        flag = double_sign_flag()
        watcher = next(n for n in self.live() if n not in hit)
        before = validator_records(watcher)
        start = watcher.height()
        for n in hit:
            n.stop()
            with environment(ASSAY_TESTING="1"):
                n.start(extra=[flag])
            self.double_signers.add(n.pubkey)

        def evidence_in_blocks():
            for h in range(start + 1, watcher.height() + 1):
                if any(tx["kind"] == "evidence" for tx in watcher.rpc("getblock", h, 2)["txs"]):
                    return True
            return False
        fw.wait_until(evidence_in_blocks, self.timeout * 2, f"{label}: an evidence transaction committed")
        fw.wait_until(lambda: all(validator_records(watcher).get(n.pubkey, {}).get("jailed") for n in hit),
                      self.timeout, f"{label}: {[n.name for n in hit]} jailed")
        after = validator_records(watcher)
        for n in hit:
            b0, b1 = before.get(n.pubkey, {}).get("bond"), after[n.pubkey].get("bond")
            if b0 is not None and b1 is not None:
                assert b1 < b0, f"{label}: {n.name} not slashed: bond {b0} -> {b1}"
            n.stake = 0  # jailed: no voting power
            log(f"  {label}: {n.name} jailed, bond {b0} -> {b1}")
        fw.wait_until(lambda: all(in_set(watcher, n.pubkey) is None for n in hit), self.timeout,
                      f"{label}: {[n.name for n in hit]} out of the set")
        self.expect_progress(label)
        self.results.append((label, "ok"))

    def bond(self, p, hit, label):
        """The follower restarts with its own validator key, imports it as a
        wallet (for its address), is funded from its load wallet and bonds
        (`assay-cli validator bond --from KEYFILE` where the CLI has it, else
        a raw validator_bond transaction, kind 3, payload the amount as u64);
        it must then be in the set (getvalidators), sign commits and
        propose a block."""
        cli_help = subprocess.run([fw.binary("assay-cli"), "help"], capture_output=True, text=True).stdout
        for n in hit:
            seedfile = os.path.join(n.datadir, "validator-seed.hex")
            with open(seedfile, "w") as f:
                f.write(n.seed.hex())
            keyfile = os.path.join(n.datadir, "validator.json")
            with open(keyfile, "w") as f:
                json.dump({"seed": n.seed.hex()}, f)
            n.stop()
            n.extra_args = [a for a in n.extra_args if a != "-novalidator"] + [f"-validator={keyfile}"]
            n.start()
            n.cli("wallet", "import", "bonder", "--seed-file", seedfile)
            address = n.cli("wallet", "address", "bonder").stdout.strip()
            n.cli("send", "--from", self.load_wallet[n.name], "--to", address,
                  "--amount", str(n.bond_amount + 10), "--wait")
            if "validator bond" in cli_help:  # --from with a '/': the key file's path
                n.cli("validator", "bond", "--from", keyfile, "--amount", str(n.bond_amount), "--wait")
            else:
                from bft_bonding import build_tx  # valset's raw-transaction builder (tests/functional)
                chain_id = bytes.fromhex(n.rpc("getblockchaininfo")["genesis_hash"])
                nonce = n.rpc("getaccount", address)["nonce"]
                txid = n.rpc("sendrawtransaction", build_tx(chain_id, n.seed, nonce, 1000, 3,
                                                            (n.bond_amount * 10**9).to_bytes(8, "little")))
                fw.wait_until(lambda: n.rpc("gettransaction", txid).get("status") == "committed",
                              self.timeout, f"{label}: the bond committed")
                res = n.rpc("gettransaction", txid)["result"]
                assert res.get("ok"), f"{label}: the bond failed: {res}"
            fw.wait_until(lambda: in_set(n, n.pubkey) is not None, self.timeout,
                          f"{label}: {n.name} in the validator set")
            n.role = "validator"
            n.stake = in_set(n, n.pubkey)["power"]
            top = n.height()

            def proposed():
                return any(n.rpc("getblock", h)["proposer"] == n.pubkey for h in range(top + 1, n.height() + 1))
            fw.wait_until(proposed, self.timeout * 2, f"{label}: {n.name} proposes a block")
            self.expect_signing([n], top, label)
            log(f"  {label}: {n.name} bonded {n.bond_amount} ASY, power {n.stake}, proposes and signs")
        self.expect_progress(label)
        self.results.append((label, "ok"))

    # ---- the run ----

    def random_perturbations(self, spec):
        """`count` perturbations drawn from `kinds`, each hitting one
        validator, or (with probability `halt_share`) as many as a third of
        the power needs, so the halt and resume are exercised too."""
        vals = [v["name"] for v in self.m["validators"]]
        out = []
        for _ in range(spec.get("count", 10)):
            kind = self.rng.choice(spec.get("kinds", ["kill", "pause", "restart", "disconnect"]))
            if self.rng.random() < spec.get("halt_share", 0.2):
                k = (len(vals) + 2) // 3
            else:
                k = max(1, (len(vals) - 1) // 3 if spec.get("max_faulty") else 1)
            out.append({"kind": kind, "nodes": self.rng.sample(vals, k), "random_moment": True,
                        "delay_s": self.rng.uniform(*spec.get("delay_s", [1, 4])) if kind != "restart" else 0})
        return out

    def run(self):
        t_start = time.time()
        gated = [p for p in self.m.get("perturbations", []) if feature_missing(p["kind"])]
        if "random" not in self.m and self.m.get("perturbations") and len(gated) == len(self.m["perturbations"]):
            for p in gated:  # nothing here would run: say so without starting a network
                label = f"{p['kind']} {'+'.join(targets(p))}"
                self.results.append((label, f"skipped: feature missing ({feature_missing(p['kind'])})"))
            self.report()
            return self.results
        self.build()
        load = None
        spec = self.m.get("load")
        if spec and spec.get("kind", "transfers") == "transfers" and spec.get("rate", 0) > 0:
            load = Load(self, spec["rate"], jobs_every_s=spec.get("jobs_every_s"))
        fw.same_chain_at(self.net, self.m.get("warmup_blocks", 5), timeout=self.timeout + 30)
        log(f"warm: all {len(self.net)} nodes at height {self.m.get('warmup_blocks', 5)}")
        for wk in self.workers:
            self.nodes.append(wk.start())
            log(f"worker {wk.name} registered through {wk.node.name}")
        if load:
            load.start()
        steps = list(self.m.get("perturbations", []))
        if "random" in self.m:
            steps += self.random_perturbations(self.m["random"])
        for p in steps:
            self.perturb(p)
        final = max(self.m.get("min_height", 0), max(n.height() for n in self.net) + self.m.get("final_blocks", 3))
        fw.same_chain_at(self.net, final, timeout=self.timeout + 60)
        if load:
            load.stop()
        self.final_checks(load)
        log(f"done in {time.time() - t_start:.0f} s")
        self.report()
        return self.results

    def report(self):
        for label, res in self.results:
            print(f"  {res:<8} {label}" if res == "ok" else f"  {label}: {res}", flush=True)

    def final_checks(self, load):
        self.check_alive()
        top = min(n.height() for n in self.net)
        compared = fw.chain_agreement(self.net, 1, top)
        log(f"agreement: {len(self.net)} nodes hold the same hash and state root at all {compared} heights")
        if load:
            committed = sum(1 for h in range(1, top + 1) for tx in self.net[0].rpc("getblock", h, 2)["txs"]
                            if tx["kind"] == "transfer")
            log(f"load: {load.sent} transfers accepted, {load.refused} refused, {committed} transfers committed")
            # a node killed with transfers in its mempool loses them, and the last
            # ones may still be pending: most, not all, must be in blocks
            assert committed >= load.sent // 2 and committed > 0, \
                f"only {committed} of the load's {load.sent} accepted transfers were committed"
        for wk in self.workers:
            seen = {json.dumps(n.rpc("getworker", self.addrs[wk.name]), sort_keys=True) for n in self.net}
            assert len(seen) == 1, f"worker {wk.name} differs between nodes: {seen}"
            status = json.loads(seen.pop())["status"]
            assert status == "active", f"worker {wk.name} is {status}"
        if load and load.jobs:
            states = [fw.wait_job(self.net[0], j, JOB_FINAL, timeout=self.timeout * 4)[0]["state"] for j in load.jobs]
            log(f"jobs: {len(states)} submitted, final states {sorted(states)}")
            assert "paid" in states, f"no job was paid: {states}"
        names = {n.pubkey: n.name for n in self.net if n.pubkey}
        signed = {}
        for h in range(2, top + 1):
            for k in self.net[0].rpc("getblock", h)["last_commit_signers"]:
                signed[k] = signed.get(k, 0) + 1
        log("commits signed (of " + str(top - 1) + "): " +
            ", ".join(f"{names.get(k, k[:8])} {c}" for k, c in sorted(signed.items(), key=lambda kv: names.get(kv[0], ""))))
        for n in self.net:
            with open(n.log_path(), errors="replace") as f:
                for m in EQUIVOCATION.finditer(f.read()):
                    if m.group(1) not in self.double_signers:
                        raise AssertionError(f"{n.name} saw {names.get(m.group(1), m.group(1))} sign two votes "
                                             f"at height {m.group(2)} round {m.group(3)}")
        log("no honest validator signed two conflicting votes (no node logged an equivocation)")


def run_manifest(path, tmpdir, nodes, seed=None):
    """Runs one manifest inside a framework test (fw.run cleans up)."""
    m = load_manifest(path)
    sub = os.path.join(tmpdir, m.get("name", "net"))
    os.makedirs(sub, exist_ok=True)
    return Runner(m, sub, nodes, seed).run()


def main():
    ap = argparse.ArgumentParser(description="Assay e2e runner: a manifest of nodes and perturbations")
    ap.add_argument("manifest")
    ap.add_argument("--build", help="build directory (default: the repository's build/)")
    ap.add_argument("--seed", type=int, help="seed for random moments and random perturbations")
    ap.add_argument("--keep", action="store_true", help="keep the data directories of a failed run")
    args = ap.parse_args()
    if args.build:
        fw.BUILD = os.path.abspath(args.build)
    if args.keep:
        os.environ["ASSAY_KEEP_TMP"] = "1"
    fw.run(lambda tmpdir, nodes: run_manifest(args.manifest, tmpdir, nodes, args.seed))


if __name__ == "__main__":
    main()
