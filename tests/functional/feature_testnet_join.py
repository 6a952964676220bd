"""Joining a testnet of one's own end to end, as docs/testnet.md tells a
newcomer to (issue 11, Tests): `assay-cli testnet init --network testnet`
writes four validators and a worker, `scripts/localnet up` starts them;
node0 and node1 are its seeds. A newcomer with an empty data directory,
not listening, given the genesis and ONE seed (node0's p2p port, no
-addnode, no -connect), learns the other validators through address gossip
(it dials at least two of node1..node3 that its address book lists) and syncs
to the validators' height with the same block hashes. assay-faucet beside
node0 funds the newcomer's validator key with `assay-cli faucet --wait`
(the balance on chain is the faucet's amount, which covers the chain's
min_validator_bond) and refuses a second request inside its interval.
Restarted with that key, the newcomer bonds min_validator_bond, appears
in getvalidators and proposes a block (getblock's proposer is its key).
The worker of the directory registers and is paid for a job submitted with
`job submit --wait`. SIGHUP makes the newcomer reopen debug.log (renamed
away, a new one appears) and it keeps answering RPC. Finally `localnet
down`, the newcomer and the faucet stop, and no process is left."""

import json
import os
import signal
import subprocess
import time

import framework as fw

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LOCALNET = os.path.join(REPO, "scripts", "localnet")
UNIT = 10**9
BLOCK_MS = 400  # the testnet's dispute_window (100 blocks) then passes in 40 s
NEWCOMER = 10  # the newcomer's port offset in the block: 2*10, clear of init's 0..8


def run(*args, check=True, timeout=60, env_extra=None):
    env = dict(os.environ, ASSAY_BIN=os.path.abspath(fw.BUILD), ASSAY_LOCALNET_TIMEOUT="30")
    env.update(env_extra or {})
    res = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def cli(datadir, *args, check=True, timeout=60):
    return run(fw.binary("assay-cli"), f"-datadir={datadir}", *args, check=check, timeout=timeout)


def rpc_json(datadir, *args):
    return json.loads(cli(datadir, *args).stdout)


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Faucet(fw.Process):
    def __init__(self, net, rpcport, amount):
        self.name = "assay-faucet"
        self.index = 100
        self.port = fw.unused_port(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.logpath = os.path.join(net, "faucet.log")
        self.args = [fw.binary("assay-faucet"), f"-datadir={os.path.join(net, 'node0')}", "-network=testnet",
                     f"-rpcport={rpcport}", "-wallet=faucet", f"-passphrase-file={os.path.join(net, 'passphrase')}",
                     f"-listen=127.0.0.1:{self.port}", f"-amount={amount}", "-interval=3600"]
        self.proc = None
        self.log = None

    def log_path(self):
        return self.logpath

    def start(self):
        import urllib.request
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"assay-faucet exited: {self.tail()}")
            try:
                urllib.request.urlopen(self.url + "/status", timeout=5).read()
                return True
            except OSError:
                return False
        fw.wait_until(up, 30, "the faucet to listen")
        return self


def test(tmpdir, nodes):
    net = os.path.join(tmpdir, "net")
    base = fw.free_port_block()
    cli(os.path.join(tmpdir, "nowhere"), "testnet", "init", "--network", "testnet", "--validators", "4",
        "--workers", "1", "--dir", net, "--chain", "assay-jointest", "--base-port", str(base),
        "--block-time", str(BLOCK_MS))
    manifest = json.load(open(os.path.join(net, "testnet.json")))
    dirs = [os.path.join(net, f"node{i}") for i in range(4)]
    genesis = os.path.join(net, "node0", "genesis.json")
    fw.assert_eq(json.load(open(genesis))["network"], "testnet", "the genesis's network")
    seed_ports = [n["port"] for n in manifest["nodes"][:2]]  # node0 and node1: the seeds

    pids = []
    newcomer = fw.Node(NEWCOMER, tmpdir, network="testnet", port_base=base,
                       extra_args=["-nolisten", f"-genesis={genesis}", f"-seednode=127.0.0.1:{seed_ports[0]}"])
    newcomer.datadir = os.path.join(tmpdir, "newcomer")
    os.makedirs(newcomer.datadir)
    nodes.append(newcomer)
    faucet = None
    try:
        up = run(LOCALNET, "up", net, timeout=90)
        for n in [f"node{i}" for i in range(4)] + ["worker0"]:
            assert f"{n}: running" in up.stdout, up.stdout
        pids = [int(open(os.path.join(d, "assayd.pid")).read()) for d in dirs]
        pids.append(int(open(os.path.join(net, "worker0", "assay-worker.pid")).read()))
        fw.wait_until(lambda: rpc_json(dirs[0], "getblockchaininfo")["height"] >= 3, 45, "the validators at height 3")
        params = rpc_json(dirs[0], "getchainparams")
        min_bond = params["min_validator_bond"]
        window = rpc_json(dirs[0], "getcomputeparams")["dispute_window"]
        print(f"min_validator_bond {min_bond / UNIT} ASY, block_time_ms {params.get('block_time_ms')}, "
              f"dispute_window {window}")

        # 2. The newcomer: one seed, nothing else; gossip brings the others.
        newcomer.start()
        others = {f"127.0.0.1:{n['port']}" for n in manifest["nodes"][1:4]}

        state = []

        def discovered():
            book = {e["address"] for e in newcomer.rpc("getnodeaddresses", 0)}
            dialed = {p["addr"] for p in newcomer.rpc("getpeerinfo") if not p["inbound"]}
            state[:] = [sorted(book), sorted(dialed)]
            # dialed from its address book: only gossip can have put them there
            return len(dialed & others & book) >= 2
        try:
            fw.wait_until(discovered, 45, f"the newcomer to learn two of {sorted(others)} and dial them")
        except AssertionError as e:
            raise AssertionError(f"{e} (book, dialed: {state})") from None
        fw.wait_until(lambda: newcomer.height() >= rpc_json(dirs[0], "getblockchaininfo")["height"] - 1, 45,
                      "the newcomer to sync")
        h = newcomer.height()
        for height in (1, h // 2 or 1, h):
            hashes = {cli(d, "getblockhash", str(height)).stdout.strip() for d in dirs}
            hashes.add(newcomer.rpc("getblockhash", height))
            fw.assert_eq(len(hashes), 1, f"block {height} hashes on the validators and the newcomer")

        # 3. The faucet funds the newcomer's validator key.
        amount_asy = min_bond // UNIT + 10
        faucet = Faucet(net, manifest["nodes"][0]["rpcport"], amount_asy).start()
        nodes.append(faucet)
        key = json.loads(newcomer.cli("-network=testnet", "--json", "validator", "key", "create", "newval").stdout)
        addr = key["address"]
        assert addr.startswith("tassay1"), key
        res = newcomer.cli("-network=testnet", "faucet", addr, "--url", faucet.url, "--wait", "--timeout", "60")
        assert f"sent {amount_asy}.000000000 ASY to {addr}" in res.stdout and "committed" in res.stdout, res.stdout
        fw.assert_eq(newcomer.rpc("getaccount", addr)["balance"], amount_asy * UNIT, "the newcomer's balance")
        again = newcomer.cli("-network=testnet", "faucet", addr, "--url", faucet.url, check=False)
        assert again.returncode == 1 and "HTTP 429" in again.stderr, again.stdout + again.stderr

        # 4. Restart with the key, bond, join the set, propose.
        newcomer.stop()
        newcomer.extra_args.append(f"-validator={os.path.join(newcomer.datadir, 'validator', 'newval.json')}")
        newcomer.start()
        # A transaction is announced once, to the peers connected then: wait for them.
        fw.wait_until(lambda: len(newcomer.rpc("getpeerinfo")) >= 2, 30, "the restarted newcomer's peers")
        bond = newcomer.cli("-network=testnet", "validator", "bond", "--from", "newval",
                            "--amount", str(min_bond // UNIT), "--wait")
        assert "ok: bonded" in bond.stdout, bond.stdout + bond.stderr

        def in_set():
            vs = rpc_json(dirs[0], "getvalidators")["validators"]
            return {v["pubkey"]: v["power"] for v in vs}.get(key["pubkey"]) == min_bond // UNIT
        fw.wait_until(in_set, 30, "getvalidators to list the newcomer")
        joined_at = newcomer.height()
        seen = [joined_at]

        def proposed():
            tip = newcomer.height()
            for height in range(seen[0], tip + 1):
                block = newcomer.rpc("getblock", newcomer.rpc("getblockhash", height))
                if block["proposer"] == key["pubkey"]:
                    seen.append(height)
                    return True
            seen[0] = tip + 1
            return False
        fw.wait_until(proposed, 40, "a block proposed by the newcomer", interval=0.5)
        fw.assert_eq(cli(dirs[0], "getblockhash", str(seen[-1])).stdout.strip(),
                     newcomer.rpc("getblockhash", seen[-1]), "the newcomer's block on node0")
        print(f"newcomer in the set from height {joined_at}, proposed block {seen[-1]}")

        # 5. The worker registers and is paid for a job.
        waddr = manifest["workers"][0]["address"]
        fw.wait_until(lambda: "active" in cli(dirs[0], "worker", "status", waddr, check=False).stdout,
                      30, "worker0 registered")
        before = rpc_json(dirs[0], "getaccount", waddr)["balance"]
        sub = cli(dirs[0], f"-passphrase-file={os.path.join(net, 'passphrase')}", "job", "submit", "--from", "faucet",
                  "--kind", "matmul-i8", "--m", "64", "--n", "48", "--k", "80", "--tile-rows", "16",
                  "--tile-cols", "16", "--seed", "cd" * 32, "--reward", "5", "--wait",
                  timeout=120)
        job_id = sub.stdout.split()[0]
        assert "state:      verified" in sub.stdout, sub.stdout
        n0 = fw.Node(0, tmpdir, port_base=base)
        n0.datadir = dirs[0]
        job, _ = fw.wait_job(n0, job_id, ("paid", "failed", "refunded"), timeout=30 + 2 * window * BLOCK_MS / 1000)
        fw.assert_eq(job["state"], "paid", "the job's final state")
        fw.assert_eq(job["slots"][0]["worker"], waddr, "the job's worker")
        after = rpc_json(dirs[0], "getaccount", waddr)["balance"]
        assert after > before, f"worker0's balance {before} -> {after}"

        # 6. SIGHUP reopens debug.log; the node keeps answering.
        log = newcomer.log_path()
        os.rename(log, log + ".1")
        newcomer.proc.send_signal(signal.SIGHUP)
        fw.wait_until(lambda: os.path.exists(log), 10, "a new debug.log after SIGHUP")
        h = newcomer.height()
        newcomer.wait_for_height(h + 1, timeout=20)
        assert newcomer.proc.poll() is None, "the newcomer exited on SIGHUP"
        fw.wait_until(lambda: os.path.getsize(log) > 0, 10, "the new debug.log written to")
    finally:
        down = run(LOCALNET, "down", net, check=False, timeout=90)
        for p in (faucet, newcomer):
            if p and p.proc:
                pids.append(p.proc.pid)
                p.stop()
        for p in pids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids), "every process stopped: localnet's, the newcomer, the faucet"
    for d in dirs:
        assert not os.path.exists(os.path.join(d, "assayd.pid")), f"{d}/assayd.pid removed"


if __name__ == "__main__":
    fw.run(test)
