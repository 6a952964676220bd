"""Settings assayd refuses, as a service manager sees them
(docs/operations.md "Checks before anything starts"): every refused
setting, from the command line or from DATADIR/assay.conf, exits with
status 2, which contrib/systemd/assayd.service does not restart
(RestartPreventExitStatus=2), with one "assayd: error:" line on stderr, and
before the lock, debug.log, the chain or a port. A setting read from the
file exited 1 and was restarted every 10 s for ever."""

import os
import subprocess

import framework as fw

EXIT_SETTING = 2


def refused(tmpdir, name, args, conf=None, want=""):
    """assayd with args (and assay.conf text conf) exits 2 with want on
    stderr and leaves nothing in the data directory but assay.conf."""
    datadir = fw.fresh_datadir(tmpdir, name, conf)
    base = fw.free_port_block()
    cmd = [fw.binary("assayd"), f"-datadir={datadir}", "-printtoconsole=0"]
    if not any(a.startswith("-rpcport=") for a in args) and "rpcport=" not in (conf or ""):
        cmd.append(f"-rpcport={base}")
    if not any(a.startswith("-port=") for a in args) and "\nport=" not in "\n" + (conf or ""):
        cmd.append(f"-port={base + 1}")
    res = subprocess.run(cmd + args, capture_output=True, text=True, timeout=20)
    fw.assert_eq(res.returncode, EXIT_SETTING, f"{name}: exit status (stderr {res.stderr!r})")
    assert want in res.stderr, f"{name}: {want!r} not in stderr {res.stderr!r}"
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    fw.assert_eq(len(lines), 1, f"{name}: stderr lines {lines}")
    left = sorted(os.listdir(datadir))
    assert left in ([], ["assay.conf"]), f"{name}: the refused start wrote {left}"


def test(tmpdir, nodes):
    failures = []
    for check in (settings_exit_2, empty_datadir, unopenable_lock):
        try:
            check(tmpdir)
        except AssertionError as e:  # each case says its own failure
            failures.append(f"{check.__name__}: {e}")
    assert not failures, "\n".join(failures)


def settings_exit_2(tmpdir):
    cases = [
        # From assay.conf: the file the systemd unit relies on.
        ("conf_range", [], "rpcport=99999\n", ":1: -rpcport=99999 is out of range"),
        ("conf_unknown", [], "bogus=1\n", 'unknown option "bogus"'),
        ("conf_loglevel", [], "loglevel=loud\n", 'invalid loglevel "loud"'),
        ("conf_network", [], "network=mainnet\n", 'unknown network "mainnet"'),
        ("conf_sameport", [], "port=29990\nrpcport=29990\n", "-port and -rpcport are both 29990"),
        ("conf_allowip", [], "rpcallowip=192.0.2.0/33\n", "invalid -rpcallowip=192.0.2.0/33"),
        # RPC bound beyond loopback that only loopback could use
        ("conf_bind_alone", [], "rpcbind=0.0.0.0\n", "-rpcbind=0.0.0.0 reaches beyond this machine"),
        # From the command line.
        ("arg_range", ["-rpcport=99999"], None, "-rpcport=99999 is out of range"),
        ("arg_network", ["-network=mainnet"], None, 'unknown network "mainnet"'),
        ("arg_sameport", ["-port=29991", "-rpcport=29991"], None, "-port and -rpcport are both 29991"),
        ("arg_allowip", ["-rpcallowip=example.com"], None, "invalid -rpcallowip=example.com"),
        ("arg_bind_alone", ["-rpcbind=::"], None, "-rpcbind=:: reaches beyond this machine"),
    ]
    failures = []
    for name, args, conf, want in cases:
        try:
            refused(tmpdir, name, args, conf=conf, want=want)
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)


def empty_datadir(tmpdir):
    # -datadir= (empty): the path walk read past its end (and exited 1);
    # now refused as a setting,
    # and nothing is made in the working directory.
    cwd = os.path.join(tmpdir, "cwd")
    os.makedirs(cwd)
    res = subprocess.run([fw.binary("assayd"), "-datadir=", "-printtoconsole=0"], capture_output=True, text=True,
                         timeout=20, cwd=cwd)
    fw.assert_eq(res.returncode, EXIT_SETTING, f"-datadir= exit status (stderr {res.stderr!r})")
    assert "-datadir is empty" in res.stderr, res.stderr
    fw.assert_eq(os.listdir(cwd), [], "files made by assayd -datadir=")
    refused(tmpdir, "conf_empty", [], conf="rpcbind=\n", want="-rpcbind is empty")


def unopenable_lock(tmpdir):

    # A data directory assayd cannot write is not "another assayd": the
    # error gives the reason. (The tests may run as root, for whom a mode
    # 555 directory is writable; a .lock that is a directory fails the same
    # open.) Exit 1: not a setting.
    datadir = os.path.join(tmpdir, "lockdir")
    os.makedirs(os.path.join(datadir, ".lock"))
    base = fw.free_port_block()
    res = subprocess.run([fw.binary("assayd"), f"-datadir={datadir}", f"-rpcport={base}", f"-port={base + 1}",
                          "-printtoconsole=0"], capture_output=True, text=True, timeout=20)
    fw.assert_eq(res.returncode, 1, f"exit status with an unopenable .lock ({res.stderr!r})")
    assert "another assayd" not in res.stderr, res.stderr
    assert f"cannot open {datadir}/.lock: Is a directory" in res.stderr, res.stderr
    if os.geteuid() != 0:
        ro = os.path.join(tmpdir, "readonly")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        res = subprocess.run([fw.binary("assayd"), f"-datadir={ro}", f"-rpcport={base}", f"-port={base + 1}",
                              "-printtoconsole=0"], capture_output=True, text=True, timeout=20)
        os.chmod(ro, 0o755)
        assert res.returncode == 1 and "Permission denied" in res.stderr, (res.returncode, res.stderr)


if __name__ == "__main__":
    fw.run(test)
