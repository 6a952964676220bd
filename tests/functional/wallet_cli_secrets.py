"""assay-cli's secrets against a real node: the RPC password from standard
input (-stdinrpcpass) or ASSAY_RPCPASSWORD instead of the command line that
ps shows; the datadir's cookie withheld from a -rpcconnect that is not
loopback (127.1 reaches the node on 127.0.0.1, but is no dotted-quad
loopback address) unless -rpccookiefile names it, by assay-cli and by
assay-faucet (whose connection code assay-worker shares); a passphrase file that
others may read refused; a planted key file asking for a costly scrypt
(N = 2^30, p = 16) refused at once, before any passphrase is asked for.
assayd itself warns when -rpcpassword is on its command line, and not when
assay.conf holds it."""

import json
import os
import subprocess
import time

import framework as fw

PASSWORD = "s3cret-rpc-pw"


def cli(node, *args, stdin=None, env_extra=None):
    env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase", ASSAY_SCRYPT_N="1024", ASSAY_TESTING="1")
    env.pop("ASSAY_RPCPASSWORD", None)
    env.update(env_extra or {})
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test(tmpdir, nodes):
    # a node with a user and password: the CLI's three ways to give it
    userd = fw.Node(1, tmpdir, extra_args=["-rpcuser=ops", f"-rpcpassword={PASSWORD}"]).start(wait=False)
    nodes.append(userd)
    fw.wait_until(lambda: _answers(userd), timeout=30, what="node1 RPC with a password")
    res = cli(userd, "-rpcuser=ops", "-stdinrpcpass", "getblockchaininfo", stdin=PASSWORD + "\n")
    assert res.returncode == 0 and '"network": "dev"' in res.stdout, res
    res = cli(userd, "-rpcuser=ops", "getblockchaininfo", env_extra={"ASSAY_RPCPASSWORD": PASSWORD})
    assert res.returncode == 0, res
    res = cli(userd, "-rpcuser=ops", f"-rpcpassword={PASSWORD}", "getblockchaininfo")
    assert res.returncode == 0, res
    res = cli(userd, "-rpcuser=ops", "-stdinrpcpass", "getblockchaininfo", stdin="wrong\n")
    assert res.returncode == 1 and "authorization failed" in res.stderr, res
    res = cli(userd, "-rpcuser=ops", "-stdinrpcpass", "getblockchaininfo", stdin="")
    assert res.returncode == 2 and "-stdinrpcpass" in res.stderr, res
    userd.stop()
    warning = "-rpcpassword on the command line can be read by every local user"
    with open(userd.log_path(), errors="replace") as f:
        assert warning in f.read(), "no warning for -rpcpassword on assayd's command line"
    # the same password from assay.conf: no warning
    os.remove(userd.log_path())
    with open(os.path.join(userd.datadir, "assay.conf"), "w") as f:
        f.write(f"rpcuser=ops\nrpcpassword={PASSWORD}\n")
    os.chmod(os.path.join(userd.datadir, "assay.conf"), 0o600)
    userd.extra_args = [a for a in userd.extra_args if not a.startswith("-rpc")]
    userd.start(wait=False)
    fw.wait_until(lambda: _answers(userd), timeout=30, what="node1 RPC with the password from assay.conf")
    userd.stop()
    with open(userd.log_path(), errors="replace") as f:
        assert warning not in f.read(), "a warning for rpcpassword in assay.conf"

    # a node with its cookie: only a loopback -rpcconnect gets it
    node = fw.Node(0, tmpdir).start()
    nodes.append(node)
    res = cli(node, "getblockchaininfo")
    assert res.returncode == 0, res
    res = cli(node, "-rpcconnect=127.1", "getblockchaininfo")
    assert res.returncode == 1 and "sent only to a loopback -rpcconnect" in res.stderr, res
    cookie = os.path.join(node.datadir, ".cookie")
    res = cli(node, "-rpcconnect=127.1", f"-rpccookiefile={cookie}", "getblockchaininfo")
    assert res.returncode == 0, res

    # a passphrase file others may read is refused, and nothing is made
    pass_file = os.path.join(tmpdir, "pass.txt")
    with open(pass_file, "w") as f:
        f.write("file-passphrase\n")
    os.chmod(pass_file, 0o644)
    res = cli(node, f"-passphrase-file={pass_file}", "wallet", "create", "gus")
    assert res.returncode == 1 and "mode 0644" in res.stderr and "chmod 600" in res.stderr, res
    assert not os.path.exists(os.path.join(node.datadir, "wallet", "gus.json"))
    os.chmod(pass_file, 0o600)
    res = cli(node, f"-passphrase-file={pass_file}", "wallet", "create", "gus")
    assert res.returncode == 0, res

    # assay-faucet (as assay-worker: the same connection code) withholds the
    # cookie from 127.1 too, and sends a cookie -rpccookiefile names
    def faucet(*args):
        port = fw.unused_port(1)
        cmd = [fw.binary("assay-faucet"), f"-datadir={node.datadir}", "-network=dev", f"-rpcport={node.rpcport}",
               "-wallet=gus", f"-passphrase-file={pass_file}", f"-listen=127.0.0.1:{port}", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            fw.wait_until(lambda: proc.poll() is not None or _listens(port), timeout=30,
                          what="the faucet to listen or exit")
        finally:
            if proc.poll() is None:
                proc.terminate()
            out = proc.communicate(timeout=30)[0]
        return proc.returncode, out
    rc, out = faucet("-rpcconnect=127.1")
    assert rc != 0 and "is not sent to it" in out and "-rpccookiefile" in out, out
    rc, out = faucet("-rpcconnect=127.1", f"-rpccookiefile={cookie}")
    assert rc == 0 and "http://127.0.0.1:" in out and "cannot reach" not in out, out
    rc, out = faucet("-rpcconnect=127.1", f"-rpccookiefile={cookie}.missing")
    assert rc != 0 and "cannot read -rpccookiefile" in out, out

    # a planted key file with a costly scrypt: refused at once
    with open(os.path.join(node.datadir, "wallet", "gus.json")) as f:
        planted = json.load(f)
    planted["name"] = "planted"
    planted["kdf"]["N"] = 2**30
    planted["kdf"]["p"] = 16
    path = os.path.join(node.datadir, "wallet", "planted.json")
    with open(path, "w") as f:
        json.dump(planted, f)
    os.chmod(path, 0o600)
    start = time.time()
    res = cli(node, "wallet", "export", "planted", "--seed", "--yes")
    took = time.time() - start
    assert res.returncode == 1 and "kdf.N/r/p" in res.stderr and "N=1073741824" in res.stderr, res
    assert "Passphrase" not in res.stderr, res
    assert took < 10, f"refusing the planted file took {took:.1f} s"


def _listens(port):
    try:
        fw.connect_from(port, "127.0.0.1", 1).close()
        return True
    except OSError:
        return False


def _answers(node):
    try:
        node.rpc("getblockchaininfo", auth=f"ops:{PASSWORD}")
        return True
    except Exception:
        return False


if __name__ == "__main__":
    fw.run(test)
