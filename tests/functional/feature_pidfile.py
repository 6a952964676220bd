"""DATADIR/assayd.pid (docs/storage.md): written whole or not at all, and
gone after a stop.

A pid file left where it cannot be written in place (here a symlink to
/dev/full, which takes the open and fails the write as a full disk does)
was left as it was, empty or cut short, naming no process; the node now
writes assayd.pid.tmp and renames it over, so the file names the running
node. After a clean stop neither file is left.

The file goes before the lock is released, so a node that takes the lock
the moment the old one lets go keeps its own file. The test stands in for
that next node: from SIGTERM on it tries the lock without pause, and once
it has it, checks that no assayd.pid is left and writes its own, which
must still be there after the old node has exited. A node that removed
its file after letting go of the lock fails one check or the other when
the gap between the two is long enough for the test to land in it; a bare
swap of the two calls leaves microseconds, which it hits only by chance.
So where strace runs, one more stop has every unlink() of the node held
back 300 ms: in the right order the lock stays held meanwhile, in the
wrong one the lock is free with assayd.pid still there, every time."""

import fcntl
import os
import shutil
import signal
import stat
import subprocess
import time

import framework as fw


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"])
    nodes.append(node)
    pidfile = os.path.join(node.datadir, "assayd.pid")
    os.symlink("/dev/full", pidfile)
    node.start()
    mode = os.lstat(pidfile).st_mode
    assert stat.S_ISREG(mode), f"assayd.pid is not a regular file (mode {mode:o})"
    with open(pidfile) as f:
        fw.assert_eq(f.read(), f"{node.proc.pid}\n", "assayd.pid")
    assert not os.path.exists(pidfile + ".tmp"), "assayd.pid.tmp left while running"
    fw.assert_eq(node.stop(), 0, "exit status after SIGTERM")
    for name in ("assayd.pid", "assayd.pid.tmp"):
        assert not os.path.lexists(os.path.join(node.datadir, name)), f"{name} left after a clean stop"

    # A clean start after that writes it again, and a stop removes it.
    node.start()
    with open(pidfile) as f:
        fw.assert_eq(f.read(), f"{node.proc.pid}\n", "assayd.pid after a restart")
    fw.assert_eq(node.stop(), 0, "exit status after the second stop")
    assert not os.path.lexists(pidfile), "assayd.pid left after the second stop"


    for attempt in range(3):
        node.start()
        take_lock_as_next_node(node, pidfile, attempt, node.proc.pid)

    slow = slow_unlink_prefix()
    if not slow:
        print("strace cannot run here: the stop with slow unlink() calls is left out")
        return
    node.log = open(os.path.join(node.datadir, "stdout.log"), "ab")
    node.proc = subprocess.Popen(slow + node.args(), stdout=node.log, stderr=subprocess.STDOUT)
    node.wait_for_rpc()
    with open(pidfile) as f:
        pid = int(f.read())  # assayd's, not strace's
    take_lock_as_next_node(node, pidfile, "with slow unlink()", pid)


def slow_unlink_prefix():
    """A command prefix that runs a program with each unlink() held back
    300 ms, or None where strace is missing or may not trace."""
    strace = shutil.which("strace")
    if not strace:
        return None
    prefix = [strace, "-qq", "-o", os.devnull, "-e", "trace=unlink,unlinkat",
              "-e", "inject=unlink,unlinkat:delay_enter=300000"]
    try:
        ok = subprocess.run(prefix + ["true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return prefix if ok else None


def take_lock_as_next_node(node, pidfile, attempt, pid):
    lock = os.open(os.path.join(node.datadir, ".lock"), os.O_RDWR)
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 30
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.time() < deadline, "the stopping node kept its lock for 30 s"
        # the lock is ours: the old node's file must be gone already
        assert not os.path.lexists(pidfile), f"attempt {attempt}: assayd.pid still there once the lock was free"
        with open(pidfile, "w") as f:
            f.write("999999\n")  # what the next node would write
        fw.assert_eq(node.proc.wait(30), 0, "exit status of the node stopped under the test's lock")
        with open(pidfile) as f:
            fw.assert_eq(f.read(), "999999\n", f"attempt {attempt}: the next node's assayd.pid after the old one exited")
    finally:
        os.close(lock)
    os.unlink(pidfile)


if __name__ == "__main__":
    fw.run(test)
