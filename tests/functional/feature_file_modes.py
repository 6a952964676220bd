"""Start-up warnings for files open to more than their owner
(docs/operations.md "Backups"): a data directory others can read
(it holds the RPC cookie) and a -validator key file that is not 0600 (it
holds the validator's seed) each get a warning in debug.log naming the
path, the mode and the chmod that fixes it; the node still starts. A
directory of mode 0700 (or 0710, as the systemd unit makes it) and a key of
0600 get none. A DATADIR/.cookie.tmp left there with a loose mode, or as a
link, does not give the RPC cookie its mode or its place: the cookie is
written to a new file of mode 0600 (docs/rpc.md "Authentication"). An RPC
bound beyond loopback is warned about at start (docs/operations.md). The
framework makes every data directory 0700, so nodes of other tests do not
log the warning."""

import json
import os

import framework as fw


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"])
    nodes.append(node)
    # the framework's own data directories are private, so no other test's
    # node logs the warning
    fw.assert_eq(oct(os.stat(node.datadir).st_mode & 0o777), oct(0o700), "mode of a framework datadir")
    node.start()
    assert "open to group or others" not in read(node.log_path()), read(node.log_path())[-1500:]
    fw.assert_eq(node.stop(), 0, "exit status")
    os.remove(node.log_path())
    keyfile = os.path.join(tmpdir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": "11" * 32}, f)
    os.chmod(keyfile, 0o644)
    os.chmod(node.datadir, 0o755)
    node.start(extra=[f"-validator={keyfile}"])
    log = read(node.log_path())
    want_dir = f"data directory {node.datadir} is open to group or others (mode 0755): chmod 700 it"
    want_key = f"validator key {keyfile} is open to group or others (mode 0644): chmod 600 it"
    assert want_dir in log, f"no warning for the datadir: {log[-1500:]}"
    assert want_key in log, f"no warning for the key file: {log[-1500:]}"
    fw.assert_eq(node.stop(), 0, "exit status (a warning, not a refusal)")

    os.chmod(keyfile, 0o600)
    os.chmod(node.datadir, 0o710)
    os.remove(node.log_path())
    node.start(extra=[f"-validator={keyfile}"])
    log = read(node.log_path())
    assert "open to group or others" not in log, f"a warning for modes 0710 and 0600: {log[-1500:]}"
    fw.assert_eq(node.stop(), 0, "exit status")

    # a loose .cookie.tmp, then one that links elsewhere
    tmp = os.path.join(node.datadir, ".cookie.tmp")
    with open(tmp, "w") as f:
        f.write("left over")
    os.chmod(tmp, 0o644)
    node.start()
    fw.assert_eq(oct(os.stat(os.path.join(node.datadir, ".cookie")).st_mode & 0o777), oct(0o600), "cookie mode")
    fw.assert_eq(node.stop(), 0, "exit status")
    elsewhere = os.path.join(tmpdir, "elsewhere.txt")
    with open(elsewhere, "w") as f:
        f.write("untouched")
    os.symlink(elsewhere, tmp)
    node.start()
    fw.assert_eq(read(elsewhere), "untouched", "the file the link named")
    fw.assert_eq(oct(os.stat(os.path.join(node.datadir, ".cookie")).st_mode & 0o777), oct(0o600), "cookie mode")
    fw.assert_eq(node.stop(), 0, "exit status")

    # RPC bound beyond loopback: said at start; on loopback: not
    assert "beyond this machine" not in read(node.log_path()), "a warning for 127.0.0.1"
    node.start(extra=["-rpcbind=0.0.0.0", "-rpcallowip=192.0.2.0/24"])
    assert "rpc: listening on 0.0.0.0, beyond this machine" in read(node.log_path()), read(node.log_path())[-1500:]
    fw.assert_eq(node.stop(), 0, "exit status")


if __name__ == "__main__":
    fw.run(test)
