"""Disk full: with the datadir on a small tmpfs that fills while transfers
flow, the node stops with one clear error ("disk full: free space under DIR
and restart") and a non-zero exit instead of retrying, and after space is
made it restarts with every block it had reported committed (same hashes)
and every transaction in them. Run twice: once with the free-space floor off,
so that a block write itself fails (ENOSPC), and once with a floor, so that
the check before each block stops it first.

Mounting needs a private mount namespace (unshare -rm) or root; where
neither is allowed the test prints "SKIP: ..." and exits with 77."""

import errno
import os
import shutil
import subprocess
import sys
import threading
import time

import framework as fw

SKIPPED = 77
DISK_MB = 48          # the tmpfs under the datadir
FLOOR_MB = 4          # -minfreespace in the second round
FLOW_SECONDS = 2.5    # transfers before the disk is filled
EXIT_TIMEOUT = 30     # how long the node may take to stop once the disk is full


def enter_mount_namespace():
    """Re-runs this script in a private user and mount namespace, where an
    unprivileged user may mount a tmpfs and the mount goes away with the
    test. Returns when already inside or when unshare is not available."""
    if os.environ.get("ASSAY_TEST_MOUNTNS") or not shutil.which("unshare"):
        return
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        return
    env = dict(os.environ, ASSAY_TEST_MOUNTNS="1")
    sys.stdout.flush()
    os.execvpe("unshare", ["unshare", "-rm", sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def mount_tmpfs(path):
    os.makedirs(path, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "assay-test-disk", path],
                         capture_output=True, text=True)
    if res.returncode != 0:
        why = " ".join(res.stderr.split()) or f"mount exited with {res.returncode}"
        print(f"SKIP: cannot mount a tmpfs here ({why})")
        sys.exit(SKIPPED)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path, leave=0):
    """Writes path until its filesystem has at most `leave` bytes free (0:
    until ENOSPC, down to the last page)."""
    with open(path, "ab", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12):
            while free_bytes(os.path.dirname(path)) > leave:
                try:
                    f.write(b"\xa5" * chunk)
                except OSError as e:
                    if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                        raise
                    break


class Watcher:
    """Sends transfers and records every block the node reports committed
    (hash and txids, read back with getblock as a client would) until the
    node goes away."""

    def __init__(self, node, to):
        self.node, self.to = node, to
        self.blocks = {}  # height -> (hash, [txids])
        self.sent = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.flow), threading.Thread(target=self.watch)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def flow(self):
        while not self.stop.is_set():
            res = self.node.cli("send", "--from", "dev", "--to", self.to, "--amount", "0.001", check=False)
            if res.returncode == 0:
                self.sent += 1
            elif self.node.proc is None or self.node.proc.poll() is not None:
                return

    def watch(self):
        while not self.stop.is_set():
            try:
                height = self.node.height()
                for h in range(max(self.blocks, default=0) + 1, height + 1):
                    blk = self.node.rpc("getblock", h)
                    self.blocks[h] = (blk["hash"], blk["txs"])
            except (OSError, fw.RPCError, ValueError):
                if self.node.proc is None or self.node.proc.poll() is not None:
                    return
            time.sleep(0.05)


def start(node, outlog, extra=None):
    """Starts node with its stdout and stderr in outlog, off the full disk."""
    node.log = open(outlog, "ab")
    node.proc = subprocess.Popen(node.args(extra), stdout=node.log, stderr=subprocess.STDOUT)
    node.wait_for_rpc()


def check_everything_kept(node, blocks, what):
    assert blocks, f"{what}: no block was reported committed"
    info = node.rpc("getblockchaininfo")
    top = max(blocks)
    assert info["height"] >= top, f"{what}: restarted at {info['height']}, below {top} reported before"
    ntx = 0
    for h, (hash_, txids) in sorted(blocks.items()):
        fw.assert_eq(node.rpc("getblockhash", h), hash_, f"{what}: block {h} after restart")
        for txid in txids:
            tx = node.rpc("gettransaction", txid)
            fw.assert_eq((tx["status"], tx["height"]), ("committed", h), f"{what}: tx {txid}")
            ntx += 1
    assert ntx > 0, f"{what}: no transaction was committed before the disk filled"
    fw.assert_eq(node.rpc("getblock", info["height"])["state_root"], info["state_root"], f"{what}: tip state root")
    return ntx


def fill_until_exit(node, watcher, outlog, filler, leave, what):
    time.sleep(FLOW_SECONDS)
    fill(filler, leave)
    try:
        rc = node.proc.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what}: the node still runs {EXIT_TIMEOUT}s after the disk filled")
    watcher.join()
    node.proc = None
    node.log.close()
    assert rc != 0, f"{what}: the node exited with 0 after the disk filled"
    with open(outlog, errors="replace") as f:
        errors = [l for l in f.read().splitlines() if l.startswith("assayd: error:")]
    fw.assert_eq(len(errors), 1, f"{what}: error lines {errors}")
    assert "disk full" in errors[0] and f"free space under {node.datadir} and restart" in errors[0], errors[0]
    return errors[0]


def test(tmpdir, nodes):
    disk = os.path.join(tmpdir, "disk")
    mount_tmpfs(disk)
    try:
        run_rounds(tmpdir, disk, nodes)
    finally:
        for n in nodes:
            n.kill9()
        subprocess.run(["umount", "-l", disk], capture_output=True)


def run_rounds(tmpdir, disk, nodes):
    node = fw.Node(0, disk, extra_args=["-blocktime=100"])
    nodes.append(node)
    filler = os.path.join(disk, "filler")

    # Round 1: no floor, so the block write itself meets ENOSPC.
    outlog = os.path.join(tmpdir, "round1.log")
    start(node, outlog, ["-minfreespace=0"])
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "bob")
    bob = node.cli("wallet", "address", "bob").stdout.strip()
    watcher = Watcher(node, bob).start()
    error = fill_until_exit(node, watcher, outlog, filler, 0, "round 1")
    assert "No space left on device" in error or "write failed" in error, error
    blocks = dict(watcher.blocks)
    os.remove(filler)
    start(node, os.path.join(tmpdir, "restart1.log"), ["-minfreespace=0", "-novalidator"])
    ntx = check_everything_kept(node, blocks, "round 1")
    fw.assert_eq(node.rpc("getaccount", bob)["balance"], ntx * 1000000, "bob after round 1")
    print(f"round 1: {len(blocks)} blocks and {ntx} transactions kept; {error}")
    node.stop()

    # Round 2: with a floor, the check before each block stops the node first.
    outlog = os.path.join(tmpdir, "round2.log")
    start(node, outlog, [f"-minfreespace={FLOOR_MB}"])
    watcher = Watcher(node, bob).start()
    error = fill_until_exit(node, watcher, outlog, filler, (FLOOR_MB - 1) << 20, "round 2")
    assert f"below -minfreespace={FLOOR_MB} MB" in error, error
    blocks.update(watcher.blocks)
    os.remove(filler)
    start(node, os.path.join(tmpdir, "restart2.log"), ["-novalidator", f"-minfreespace={FLOOR_MB}"])
    ntx = check_everything_kept(node, blocks, "round 2")
    fw.assert_eq(node.rpc("getaccount", bob)["balance"], ntx * 1000000, "bob after round 2")
    print(f"round 2: {len(blocks)} blocks and {ntx} transactions kept; {error}")
    node.stop()


if __name__ == "__main__":
    enter_mount_namespace()
    fw.run(test)
