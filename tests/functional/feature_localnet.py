"""A local testnet in two commands (docs/testnet.md): `assay-cli testnet
init` writes four validators, a follower and one worker into a fresh
directory,
`scripts/localnet up` starts them, and the four finalize blocks with
identical hashes; `testnet collect` of the gentx entries init left rebuilds
the same validators; `assay-cli -datadir=DIR/nodeI` reaches each node
through its assay.conf alone; `status` lists every node and the worker; a node killed
-9 leaves a stale assayd.pid that status reports as stopped and `up`
replaces; `down` stops every process and removes every pid file. The
validator commands are run against the chain too: bond is sent through the
dry run, which refuses it ("not enabled on this chain") on a build without
the validator-set rules; with them, the bond must commit, the validator's
power grow by the bonded ASY two blocks later, and the follower, bonding
the minimum, join the set."""

import json
import os
import signal
import subprocess
import time

import framework as fw

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LOCALNET = os.path.join(REPO, "scripts", "localnet")


def run(*args, check=True, timeout=60):
    env = dict(os.environ, ASSAY_BIN=os.path.abspath(fw.BUILD), ASSAY_LOCALNET_TIMEOUT="30")
    res = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def cli(datadir, *args, check=True):
    return run(fw.binary("assay-cli"), f"-datadir={datadir}", *args, check=check)


def info(datadir):
    return json.loads(cli(datadir, "getblockchaininfo").stdout)


def pid_alive(pid):
    """Running (a zombie whose parent, the script, is gone counts as stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def test(tmpdir, nodes):
    net = os.path.join(tmpdir, "net")
    base = fw.free_port_block()
    out = cli(os.path.join(tmpdir, "nowhere"), "testnet", "init", "--validators", "4", "--followers", "1",
              "--workers", "1", "--dir", net, "--base-port", str(base)).stdout
    assert "scripts/localnet up" in out, out
    names = [f"node{i}" for i in range(5)]  # node4: a follower, its key without stake
    dirs = [os.path.join(net, n) for n in names]
    manifest = json.load(open(os.path.join(net, "testnet.json")))
    fw.assert_eq([n["name"] for n in manifest["nodes"]], names, "manifest nodes")
    fw.assert_eq([n["validator"] for n in manifest["nodes"]], [True] * 4 + [False], "manifest validators")
    fw.assert_eq(len(manifest["workers"]), 1, "manifest workers")
    for d in dirs:
        key = os.path.join(d, "validator", os.path.basename(d) + ".json")
        fw.assert_eq(os.stat(key).st_mode & 0o777, 0o600, f"mode of {key}")
    # the operators' entries init left in DIR/gentx collect into the same validators
    regen = os.path.join(tmpdir, "collected.json")
    cli(tmpdir, "testnet", "collect", os.path.join(net, "gentx"), "--out", regen)
    made, again = (json.load(open(p)) for p in (os.path.join(net, "genesis.json"), regen))
    fw.assert_eq(sorted((v["pubkey"], v["stake"]) for v in again["validators"]),
                 sorted((v["pubkey"], v["stake"]) for v in made["validators"]), "collected validators")
    fw.assert_eq(sorted(v["pubkey"] for v in made["validators"]),
                 sorted(n["pubkey"] for n in manifest["nodes"] if n["validator"]), "genesis validators: the four")
    # a second init into the same directory changes nothing
    again = cli(tmpdir, "testnet", "init", "--validators", "4", "--dir", net, check=False)
    assert again.returncode == 1 and "not empty" in again.stderr, again.stderr

    pids = []
    try:
        up = run(LOCALNET, "up", net, timeout=90)
        for n in names + ["worker0"]:
            assert f"{n}: running" in up.stdout, up.stdout
        pids = [read_pid(os.path.join(d, "assayd.pid")) for d in dirs]
        worker_pid = read_pid(os.path.join(net, "worker0", "assay-worker.pid"))
        pids.append(worker_pid)
        assert all(pid_alive(p) for p in pids), pids

        # every node reaches height 5 with one chain
        def same_at_5():
            infos = [info(d) for d in dirs]
            h = min(i["height"] for i in infos)
            if h < 5:
                return False
            hashes = {cli(d, "getblockhash", "5").stdout.strip() for d in dirs}
            fw.assert_eq(len(hashes), 1, f"block 5 hashes on the four: {hashes}")
            return True
        fw.wait_until(same_at_5, timeout=45, what="height 5 on all five nodes", interval=0.5)
        fw.assert_eq({info(d)["genesis_hash"] for d in dirs}.__len__(), 1, "one genesis")

        status = run(LOCALNET, "status", net).stdout
        lines = status.splitlines()
        for n in names:
            row = [l for l in lines if l.startswith(n + " ")]
            assert row and "signers of height" in row[0] and "stopped" not in row[0], status
        assert any(l.startswith("worker0 ") and "running" in l for l in lines), status

        # the worker registered through node0
        waddr = manifest["workers"][0]["address"]
        fw.wait_until(lambda: "active" in cli(dirs[0], "worker", "status", waddr, check=False).stdout,
                      timeout=30, what="worker0 registered")

        # the faucet pays a validator's account; that validator then bonds
        pkey = json.loads(cli(dirs[1], "-json", "validator", "key", "show", "node1").stdout)
        fw.assert_eq(pkey["pubkey"], manifest["nodes"][1]["pubkey"], "key show's pubkey")
        cli(dirs[0], f"-passphrase-file={os.path.join(net, 'passphrase')}", "send", "--from", "faucet",
            "--to", pkey["address"], "--amount", "5", "--wait")
        bond = cli(dirs[1], "validator", "bond", "--from", "node1", "--amount", "10", "--wait", check=False)
        assert bond.returncode == 0 and "ok: bonded" in bond.stdout, bond.stdout + bond.stderr

        def power_of_node1():
            vs = json.loads(cli(dirs[0], "getvalidators").stdout)
            return {v["pubkey"]: v["power"] for v in vs["validators"]}.get(pkey["pubkey"])
        fw.wait_until(lambda: power_of_node1() == 1010, timeout=20, what="node1's power 1000 + 10 bonded")
        # the follower bonds the minimum and joins the set
        follower = manifest["nodes"][4]
        bond = cli(dirs[4], "validator", "bond", "--from", "node4", "--amount", "1000", "--wait", check=False)
        assert bond.returncode == 0, bond.stdout + bond.stderr

        def follower_power():
            vs = json.loads(cli(dirs[0], "getvalidators").stdout)
            return {v["pubkey"]: v["power"] for v in vs["validators"]}.get(follower["pubkey"])
        fw.wait_until(lambda: follower_power() == 1000, timeout=20, what="node4 in the validator set")

        # kill -9 leaves a stale pid file: status says stopped, up replaces it
        os.kill(pids[3], signal.SIGKILL)
        fw.wait_until(lambda: not pid_alive(pids[3]), timeout=10, what="node3 gone")
        assert os.path.exists(os.path.join(dirs[3], "assayd.pid")), "kill -9 leaves the pid file"
        status = run(LOCALNET, "status", net).stdout
        assert any(l.startswith("node3 ") and "stopped" in l for l in status.splitlines()), status
        up = run(LOCALNET, "up", net, timeout=90)
        assert "node0: already running" in up.stdout and "node3: running" in up.stdout, up.stdout
        pids[3] = read_pid(os.path.join(dirs[3], "assayd.pid"))
        assert pid_alive(pids[3]), "restarted node3"
        h = max(info(d)["height"] for d in dirs)
        fw.wait_until(lambda: info(dirs[3])["height"] >= h + 2, timeout=40, what="node3 follows again")
    finally:
        down = run(LOCALNET, "down", net, check=False, timeout=90)
        for p in pids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
    assert down.returncode == 0, down.stdout + down.stderr
    for n in names + ["worker0"]:
        assert f"{n}: stopped" in down.stdout, down.stdout
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids), "every process stopped"
    for d in dirs:
        assert not os.path.exists(os.path.join(d, "assayd.pid")), f"{d}/assayd.pid removed"
    assert not os.path.exists(os.path.join(net, "worker0", "assay-worker.pid"))
    # down again: nothing to stop, and says so without failing
    again = run(LOCALNET, "down", net)
    assert "node0: not running" in again.stderr, again.stderr


if __name__ == "__main__":
    fw.run(test)
