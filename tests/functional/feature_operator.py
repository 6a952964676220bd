"""The daemon as an operator runs it (docs/operations.md):

- bad settings are refused before anything starts: -rpcport=99999 (it was
  bound on 34463), -port=0, an unknown -debug category, a '#' inside an
  assay.conf value (rpcpassword=abc#def was cut to abc); nothing is written
  to the data directory and no port is bound;
- SIGHUP reopens debug.log for logrotate (it killed the node, exit 129,
  leaving a stale .cookie): rename the file, HUP, a new file appears and the
  node keeps serving;
- systemd's Type=notify: READY=1 once RPC and p2p are up, STOPPING=1 on stop;
- a second assayd on the same data directory fails to stderr and writes
  nothing into the running node's debug.log;
- RPC: `stop extra` is refused with -32602 and the node keeps running; a
  notification (no id) runs and gets no reply; `assay-cli help METHOD`
  prints one method's full help; a wrong-credentials line names the client;
- -debug=rpc writes a line per call; assay-worker reads DATADIR/assay.conf
  and takes -network;
- contrib/systemd's units are Type=notify with the hardening options, and
  pass systemd-analyze verify where it is installed."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error

import framework as fw


def run_assayd(args, timeout=20):
    return subprocess.run([fw.binary("assayd")] + args, capture_output=True, text=True, timeout=timeout)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def refused_before_start(tmpdir, name, args, conf=None, want=""):
    """assayd with args (and an assay.conf of conf) exits non-zero at once
    with want on stderr, having bound nothing and written no chain."""
    datadir = fw.fresh_datadir(tmpdir, name, conf)
    base = fw.free_port_block()
    res = run_assayd([f"-datadir={datadir}", f"-rpcport={base}", f"-port={base + 1}", "-printtoconsole=0"] + args)
    assert res.returncode != 0, f"{name}: assayd {args} started (exit 0)"
    assert want in res.stderr, f"{name}: {want!r} not in stderr {res.stderr!r}"
    left = sorted(os.listdir(datadir))
    assert left in ([], ["assay.conf"]), f"{name}: the refused start wrote {left}"
    return res


def test(tmpdir, nodes):
    # 1. Settings refused before anything starts.
    res = refused_before_start(tmpdir, "rpcport", ["-rpcport=99999"], want="-rpcport=99999 is out of range: use 1 to 65535")
    assert port_free(99999 % 65536), "something holds port 34463"
    refused_before_start(tmpdir, "port", ["-port=0"], want="-port=0 is out of range")
    refused_before_start(tmpdir, "sameport", ["-port=29999", "-rpcport=29999"], want="-port and -rpcport are both 29999")
    refused_before_start(tmpdir, "debugcat", ["-debug=net,nosuch"], want='unknown category "nosuch"')
    refused_before_start(tmpdir, "hash", [], conf="rpcuser=op\nrpcpassword=abc#def\n",
                         want="'#' in the value of rpcpassword")
    refused_before_start(tmpdir, "confrange", [], conf="# limits\nmaxconnections=0\n",
                         want=":2: -maxconnections=0 is out of range")

    # 2. A node under a service manager: READY=1, then SIGHUP, then STOPPING=1.
    notify_path = os.path.join(tmpdir, "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(20)
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200", "-debug=rpc,consensus"])
    os.environ["NOTIFY_SOCKET"] = notify_path
    try:
        node.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    nodes.append(node)
    ready = listener.recv(4096).decode()
    assert "READY=1" in ready.split("\n"), f"first notification {ready!r}"
    node.wait_for_height(2)

    log = node.log_path()
    rotated = log + ".1"
    os.rename(log, rotated)
    node.rpc("getblockcount")  # lands in the renamed file, still open
    node.proc.send_signal(signal.SIGHUP)
    fw.wait_until(lambda: os.path.exists(log), 10, "a new debug.log after SIGHUP")
    h = node.height()
    node.wait_for_height(h + 2)
    assert node.proc.poll() is None, f"SIGHUP ended the node ({node.proc.returncode})"
    assert os.path.exists(os.path.join(node.datadir, ".cookie")), ".cookie gone after SIGHUP"
    fw.wait_until(lambda: "rpc: getblockchaininfo" in read(log), 10, "RPC lines in the new debug.log")
    assert "reopened debug.log" in read(log), read(log)[-2000:]
    assert "rpc: getblockcount" in read(rotated), "-debug=rpc lines before the HUP missing from the old file"
    assert "consensus: decided height" in read(rotated), "no -debug=consensus lines"
    assert "[debug] net:" not in read(rotated), "net debug lines without -debug=net"

    # 3. A second assayd on the same data directory: stderr only.
    before = read(log)
    res = run_assayd(node.args()[1:3] + [f"-rpcport={node.rpcport + 100}", f"-port={node.port + 100}"])
    assert res.returncode != 0 and "cannot lock" in res.stderr, (res.returncode, res.stderr)
    after = read(log)
    assert "cannot lock" not in after, "the second assayd wrote into the running node's debug.log"
    assert "starting" not in after[len(before):], "the second assayd logged its start into the first's log"

    # 4. RPC: extra parameters, notifications, help METHOD, credentials.
    e = fw.assert_raises_rpc(-32602, node.rpc, "stop", "extra")
    assert "stop takes no parameters" in e.message, e.message
    fw.assert_raises_rpc(-32602, node.rpc, "getblockhash", 1, 2)
    res = node.cli("stop", "extra", check=False)
    assert res.returncode != 0 and "-32602" in res.stderr, (res.returncode, res.stderr)
    time.sleep(0.5)
    assert node.proc.poll() is None, "stop extra stopped the node"
    fw.assert_eq(node.rpc("getblockhash", 1), node.rpc("getblock", 1)["hash"], "methods within their synopsis")

    body = json.dumps({"jsonrpc": "2.0", "method": "setban", "params": ["10.9.8.7", "add"]}).encode()
    status, data = node.raw_request(body)
    fw.assert_eq((status, data), (204, b""), "reply to a notification")
    assert any(b["address"] == "10.9.8.7" for b in node.rpc("listbanned")), "the notification did not run"
    batch = [{"jsonrpc": "2.0", "method": "getblockcount"}, {"jsonrpc": "2.0", "id": 5, "method": "getblockcount"}]
    status, data = node.raw_request(json.dumps(batch).encode())
    replies = json.loads(data)
    fw.assert_eq([r["id"] for r in replies], [5], "a batch's replies (the notification left out)")
    status, data = node.raw_request(json.dumps({"jsonrpc": "2.0", "id": None, "method": "getblockcount"}).encode())
    assert status == 200 and "result" in json.loads(data), "id null is a call, not a notification"

    out = node.cli("help", "getblock").stdout
    assert "getblock HASH|HEIGHT [VERBOSITY]" in out and "at most 2" in out, out
    out = node.cli("help", "stop").stdout
    assert "no parameters" in out, out
    fw.assert_raises_rpc(-8, node.rpc, "help", "nosuchmethod")
    assert all("\n" not in line for line in node.rpc("help")), "help lists one line per method"

    try:
        node.raw_request(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}).encode(), auth="x:y")
        raise AssertionError("wrong credentials accepted")
    except urllib.error.HTTPError as err:
        fw.assert_eq(err.code, 401, "status for wrong credentials")
    fw.wait_until(lambda: "wrong or missing credentials from 127.0.0.1:" in read(log), 10,
                  "the rejected-credentials line to name the client")

    # 5. assay-worker: the node's assay.conf gives it the RPC port; -network
    # must match the node's (it always dialed 29443 and knew no network).
    with open(os.path.join(node.datadir, "assay.conf"), "w") as f:
        f.write(f"# read by assayd, assay-cli and assay-worker\nrpcport={node.rpcport}\n")
    node.cli("wallet", "create", "op")
    env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase", ASSAY_SCRYPT_N="1024", ASSAY_TESTING="1")
    worker = [fw.binary("assay-worker"), f"-datadir={node.datadir}", "-wallet=op",
              f"-listen=127.0.0.1:{fw.unused_port(1)}"]
    res = subprocess.run(worker + ["-network=testnet"], capture_output=True, text=True, env=env, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "is on network dev, not testnet" in out, (res.returncode, out)
    res = subprocess.run(worker + ["-rpcport=99999"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode != 0 and "-rpcport=99999 is out of range" in res.stderr, res.stderr
    res = subprocess.run(worker + ["-threads=100000"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode != 0 and "-threads=100000 is out of range" in res.stderr, res.stderr
    # the CLI reads the same file: no -rpcport needed
    res = subprocess.run([fw.binary("assay-cli"), f"-datadir={node.datadir}", "getblockcount"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and int(res.stdout) >= 2, (res.returncode, res.stderr)
    with open(os.path.join(node.datadir, "assay.conf"), "a") as f:
        f.write("rpcpassword=abc#def\n")
    res = subprocess.run([fw.binary("assay-cli"), f"-datadir={node.datadir}", "getblockcount"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and "'#' in the value of rpcpassword" in res.stderr, (res.returncode, res.stderr)
    os.remove(os.path.join(node.datadir, "assay.conf"))

    # 6. Stop under the service manager: STOPPING=1.
    fw.assert_eq(node.stop(), 0, "exit status after SIGTERM")
    stopping = listener.recv(4096).decode()
    assert "STOPPING=1" in stopping.split("\n"), f"notification at stop {stopping!r}"
    listener.close()

    # 7. The shipped units: Type=notify, the hardening options, and what
    # systemd-analyze verify says of them (where it is installed).
    contrib = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib", "systemd")
    for unit, program in (("assayd.service", "assayd"), ("assay-worker.service", "assay-worker")):
        text = read(os.path.join(contrib, unit))
        for key in ("Type=notify", "PrivateTmp=true", "ProtectSystem=full", "NoNewPrivileges=true",
                    "PrivateDevices=true", "MemoryDenyWriteExecute=true", "ProtectHome=true"):
            assert f"\n{key}\n" in text, f"{unit}: no {key}"
        with open(os.path.join(tmpdir, unit), "w") as f:
            f.write(text.replace(f"/usr/local/bin/{program}", fw.binary(program)))
    analyze = shutil.which("systemd-analyze")
    if analyze:
        res = subprocess.run([analyze, "verify", os.path.join(tmpdir, "assayd.service"),
                              os.path.join(tmpdir, "assay-worker.service")], capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0 and not res.stderr.strip(), f"systemd-analyze verify: {res.stderr}{res.stdout}"


if __name__ == "__main__":
    fw.run(test)
