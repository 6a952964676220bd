"""DATADIR/assayd.pid (docs/storage.md): written whole or not at all, and
gone after a stop.

A pid file left where it cannot be written in place (here a symlink to
/dev/full, which takes the open and fails the write as a full disk does)
was left as it was, empty or cut short, naming no process; the node now
writes assayd.pid.tmp and renames it over, so the file names the running
node. After a clean stop neither file is left. (That the file goes before
the lock is released, so a node started at that moment keeps its own file,
is a race this test cannot provoke reliably.)"""

import os
import stat

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


if __name__ == "__main__":
    fw.run(test)
