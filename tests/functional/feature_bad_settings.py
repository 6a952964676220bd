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
    datadir = os.path.join(tmpdir, name)
    os.makedirs(datadir)
    if conf is not None:
        with open(os.path.join(datadir, "assay.conf"), "w") as f:
            f.write(conf)
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
    # From assay.conf: the file the systemd unit relies on.
    refused(tmpdir, "conf_range", [], conf="rpcport=99999\n", want=":1: -rpcport=99999 is out of range")
    refused(tmpdir, "conf_unknown", [], conf="bogus=1\n", want='unknown option "bogus"')
    refused(tmpdir, "conf_loglevel", [], conf="loglevel=loud\n", want='invalid loglevel "loud"')
    refused(tmpdir, "conf_network", [], conf="network=mainnet\n", want='unknown network "mainnet"')
    refused(tmpdir, "conf_sameport", [], conf="port=29990\nrpcport=29990\n", want="-port and -rpcport are both 29990")
    # From the command line.
    refused(tmpdir, "arg_range", ["-rpcport=99999"], want="-rpcport=99999 is out of range")
    refused(tmpdir, "arg_network", ["-network=mainnet"], want='unknown network "mainnet"')
    refused(tmpdir, "arg_sameport", ["-port=29991", "-rpcport=29991"], want="-port and -rpcport are both 29991")


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


if __name__ == "__main__":
    fw.run(test)
