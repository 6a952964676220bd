"""Functional-test framework: starts real assayd processes on loopback ports
in temporary data directories, talks to them over JSON-RPC with the cookie,
and runs assay-cli. Standard library only. Each test is a script with a
main() that raises AssertionError (or exits non-zero) on failure."""

import base64
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

BUILD = os.environ.get("ASSAY_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        raise SystemExit(f"missing {path}: build first")
    return path


PORTS_PER_TEST = 64  # room for 32 nodes (an RPC and a p2p port each)


PORT_BLOCKS = 199  # blocks of PORTS_PER_TEST ports from 20000, all below 32768
_port_block = None  # (base, lock file) held by this process for its lifetime


def _ports_bindable(base):
    for port in range(base, base + PORTS_PER_TEST):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_block():
    """A base port owned by this process, away from the defaults and below
    32768, where Linux's ephemeral range starts (the many short RPC client
    connections would otherwise hold ports in TIME_WAIT that a node then
    cannot bind). Tests run side by side, so each process claims its block
    with an exclusive lock file held until it exits, and skips blocks where
    any port is in use by something else."""
    global _port_block
    if _port_block:
        return _port_block[0]
    lockdir = os.path.join(tempfile.gettempdir(), "assay-test-ports")
    os.makedirs(lockdir, exist_ok=True)
    start = os.getpid() % PORT_BLOCKS
    for i in range(PORT_BLOCKS):
        block = (start + i) % PORT_BLOCKS
        base = 20000 + block * PORTS_PER_TEST
        f = open(os.path.join(lockdir, f"{block}.lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        if _ports_bindable(base):
            _port_block = (base, f)
            return base
        f.close()
    raise SystemExit("no free block of test ports")


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


class Process:
    """What a node and a worker share: a child process, its log, stopping."""

    proc = None
    log = None
    name = "process"

    def log_path(self):
        raise NotImplementedError

    def tail(self, n=20):
        try:
            with open(self.log_path(), "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout}s")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        if self.log:
            self.log.close()
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()


def make_private_dir(path):
    """path as a data directory should be, mode 0700 (assayd warns about
    one open to group or others, docs/operations.md "Backups"), unless it
    is there already: a test that set its mode keeps it."""
    if not os.path.isdir(path):
        os.makedirs(path, 0o700)
        os.chmod(path, 0o700)  # whatever the umask


class Node(Process):
    def __init__(self, index, tmpdir, network="dev", extra_args=None, port_base=None):
        self.index = index
        self.name = f"node{index}"
        self.datadir = os.path.join(tmpdir, f"node{index}")
        make_private_dir(self.datadir)
        base = port_base or free_port_block()
        self.rpcport = base + 2 * index
        self.port = base + 2 * index + 1
        self.network = network
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.log = None

    def args(self, extra=None):
        return [binary("assayd"), f"-datadir={self.datadir}", f"-network={self.network}",
                f"-rpcport={self.rpcport}", f"-port={self.port}", "-printtoconsole=0"] + self.extra_args + list(extra or [])

    def start(self, extra=None, wait=True):
        self.log = open(os.path.join(self.datadir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(self.args(extra), stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_for_rpc()
        return self

    def wait_for_rpc(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node{self.index} exited with {self.proc.returncode}: {self.tail()}")
            try:
                self.rpc("getblockchaininfo")
                return
            except (OSError, RPCError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError(f"node{self.index} RPC not up after {timeout}s")

    def log_path(self):
        return os.path.join(self.datadir, "debug.log")

    def cookie(self):
        with open(os.path.join(self.datadir, ".cookie")) as f:
            return f.read().strip()

    def raw_request(self, body, auth=None, method="POST", path="/"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.rpcport}{path}", data=body, method=method)
        cred = auth if auth is not None else self.cookie()
        if cred:
            req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()

    def rpc(self, method, *params, auth=None):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        _, data = self.raw_request(body, auth=auth)
        reply = json.loads(data)
        if reply.get("error"):
            raise RPCError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def height(self):
        return self.rpc("getblockchaininfo")["height"]

    def wait_for_height(self, h, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.height() >= h:
                return
            time.sleep(0.1)
        raise AssertionError(f"node{self.index} did not reach height {h} (at {self.height()})")

    def cli(self, *args, passphrase="test-passphrase", check=True, env_extra=None):
        env = dict(os.environ)
        env["ASSAY_PASSPHRASE"] = passphrase
        env["ASSAY_SCRYPT_N"] = "1024"
        env["ASSAY_TESTING"] = "1"  # the opt-in a weak ASSAY_SCRYPT_N needs
        if env_extra:
            env.update(env_extra)
        # the CLI refuses a node of another network than its -network (dev
        # unless given); dev is left to the default, which commands such as
        # testnet init read as "not given"
        net = [] if self.network == "dev" else [f"-network={self.network}"]
        cmd = [binary("assay-cli"), f"-datadir={self.datadir}", *net, f"-rpcport={self.rpcport}"] + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        if check and res.returncode != 0:
            raise AssertionError(f"assay-cli {' '.join(args)} failed ({res.returncode}): {res.stderr}{res.stdout}")
        return res

    def cli_json(self, *args, **kw):
        res = self.cli("--json", *args, **kw)
        return json.loads(res.stdout)



class StarvedNode(Node):
    """A node whose descriptor limit (soft and hard) is fd_limit: for tests
    of what happens when descriptors run out."""

    def __init__(self, *args, fd_limit=256, **kw):
        super().__init__(*args, **kw)
        self.fd_limit = fd_limit

    def start(self, extra=None, wait=True):
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, self.fd_limit))

        self.log = open(os.path.join(self.datadir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(self.args(extra), stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=limit)
        if wait:
            self.wait_for_rpc()
        return self


def connect_from(port, source, timeout=10):
    """A TCP connection to 127.0.0.1:port from the loopback address source."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_within(s, seconds):
    """True if the other end closes s (EOF or reset) within seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def idle_connections(port, count, source=None):
    """Up to count silent TCP connections to 127.0.0.1:port (from the
    loopback address source, when given), stopping at the first that
    cannot be made: the sockets, for the caller to close."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(3)
        if source:
            s.bind((source, 0))
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            break
        socks.append(s)
    return socks


def cpu_seconds(pid):
    """User + system CPU time a process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p2p_addr(node):
    """The node's p2p address, for -connect / -addnode / addnode."""
    return f"127.0.0.1:{node.port}"


def wait_until(predicate, timeout=60, what="condition", interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def tip_of(node):
    info = node.rpc("getblockchaininfo")
    return info["height"], info["best_hash"], info["state_root"]


def sync_tips(nodes, timeout=60):
    """Waits until every node has the same tip hash and state root (a
    producer keeps going, so this compares one snapshot at a time)."""
    last = []

    def same():
        last[:] = [tip_of(n) for n in nodes]
        return len({(h, s) for _, h, s in last}) == 1

    try:
        wait_until(same, timeout, "nodes to reach the same tip", interval=0.05)
    except AssertionError:
        raise AssertionError(f"tips differ: {last}")
    return last[0]


def same_chain_at(nodes, height, timeout=60):
    """Waits until every node has a block at height, then checks that they
    hold the same block there (hash and state root). For use while a
    producer keeps going."""
    for n in nodes:
        n.wait_for_height(height, timeout)
    blocks = [n.rpc("getblock", height) for n in nodes]
    for n, blk in zip(nodes, blocks):
        assert_eq((blk["hash"], blk["state_root"]), (blocks[0]["hash"], blocks[0]["state_root"]),
                  f"node{n.index} block {height}")
    return blocks[0]


def assert_eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def assert_raises_rpc(code, fn, *args, contains=None):
    try:
        fn(*args)
    except RPCError as e:
        if code is not None and e.code != code:
            raise AssertionError(f"expected RPC error {code}, got {e.code}: {e.message}")
        if contains and contains not in e.message:
            raise AssertionError(f"expected {contains!r} in {e.message!r}")
        return e
    raise AssertionError("expected an RPC error")


# Exit status of a test that did not run what it tests (automake's SKIP code).
EXIT_SKIP = 77


class Skip(Exception):
    """Raised by a test that cannot run here (no device, a build without an
    optional feature); run() reports it as skipped, never as passed."""


def skip(reason):
    raise Skip(reason)


def run(test_main):
    """Runs test_main(tmpdir, nodes) with cleanup; exit status for the runner:
    0 passed, 1 failed, EXIT_SKIP skipped (after printing "SKIP: reason")."""
    tmpdir = tempfile.mkdtemp(prefix="assay-test-")
    nodes = []
    ok = False
    skipped = False
    try:
        test_main(tmpdir, nodes)
        ok = True
    except Skip as e:
        print(f"SKIP: {e}")
        ok = skipped = True
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        # where in the test it failed: the innermost frame of the test's own file
        frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.abspath(f.filename) == os.path.abspath(sys.argv[0])]
        if frames:
            print(f"  at {os.path.basename(frames[-1].filename)} line {frames[-1].lineno}: {frames[-1].line}",
                  file=sys.stderr)
        for n in nodes:
            print(f"--- node{n.index} debug.log tail ---\n{n.tail(40)}", file=sys.stderr)
    finally:
        for n in nodes:
            try:
                n.kill9() if n.proc else None
            except Exception:
                pass
        if ok or not os.environ.get("ASSAY_KEEP_TMP"):
            shutil.rmtree(tmpdir, ignore_errors=True)
    sys.exit(EXIT_SKIP if skipped else 0 if ok else 1)


# ---- compute: a local chain with a custom genesis, and assay-worker processes ----

_ED_Q = 2**255 - 19
_ED_L = 2**252 + 27742317777372353535851937790883648493


def _ed_mul(a):
    """a times the Ed25519 base point, encoded (affine Edwards arithmetic:
    slow, for the few keys and signatures a test makes)."""
    q = _ED_Q
    d = -121665 * pow(121666, q - 2, q) % q

    def add(p1, p2):
        (x1, y1), (x2, y2) = p1, p2
        t = d * x1 * x2 * y1 * y2 % q
        return ((x1 * y2 + x2 * y1) * pow(1 + t, q - 2, q) % q,
                (y1 * y2 + x1 * x2) * pow(1 - t, q - 2, q) % q)

    by = 4 * pow(5, q - 2, q) % q
    xx = (by * by - 1) * pow(d * by * by + 1, q - 2, q) % q
    bx = pow(xx, (q + 3) // 8, q)
    if (bx * bx - xx) % q:
        bx = bx * pow(2, (q - 1) // 4, q) % q
    if bx % 2:
        bx = q - bx
    point, base = (0, 1), (bx, by)
    while a:
        if a & 1:
            point = add(point, base)
        base = add(base, base)
        a >>= 1
    x, y = point
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _ed_scalar(seed):
    import hashlib
    h = hashlib.sha512(seed).digest()
    return int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254), h[32:]


def ed25519_public_key(seed):
    """RFC 8032 public key of a 32-byte seed (to name a test validator in a
    genesis file, or to sign a hand-made transaction)."""
    return _ed_mul(_ed_scalar(seed)[0])


def ed25519_sign(seed, msg):
    """RFC 8032 signature of msg by the key of a 32-byte seed."""
    import hashlib
    a, prefix = _ed_scalar(seed)
    pub = _ed_mul(a)
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % _ED_L
    big_r = _ed_mul(r)
    k = int.from_bytes(hashlib.sha512(big_r + pub + msg).digest(), "little") % _ED_L
    return big_r + ((r + k * a) % _ED_L).to_bytes(32, "little")


def tagged_hash(tag, msg):
    """H_tag of docs/protocol.md §2."""
    import hashlib
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def raw_tx(seed, chain_id, nonce, fee, gas_limit, kind, payload):
    """A signed transaction (docs/protocol.md §3) as hex, built by hand so a
    test can send what no client would: the transaction an adversary makes."""
    import struct
    body = (chain_id + struct.pack("<Q", nonce) + ed25519_public_key(seed) + struct.pack("<QQB", fee, gas_limit, kind)
            + _varint(len(payload)) + payload)
    return (body + ed25519_sign(seed, tagged_hash("assay/tx", body))).hex()


def local_compute_chain(tmpdir, nodes, wallets, compute, funds=10**6 * 10**9, blocktime=200, params=None):
    """Starts one validator on -network=local with a genesis whose "compute"
    object is `compute` (and chain "params" beside the block time, if given)
    and which funds each named wallet (created here, with the framework's
    passphrase). Returns (node, {name: address})."""
    node = Node(0, tmpdir, network="local")
    seed = os.urandom(32)
    keyfile = os.path.join(node.datadir, "validator.json")
    with open(keyfile, "w") as f:
        json.dump({"seed": seed.hex()}, f)
    addresses = {}
    for name in wallets:
        node.cli("wallet", "create", name)
        addresses[name] = node.cli("wallet", "address", name).stdout.strip()
    genesis = {
        "chain": "assay-local-test", "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": dict({"block_time_ms": blocktime}, **(params or {})),
        "compute": compute,
        "balances": [{"address": a, "amount": funds} for a in addresses.values()],
        "validators": [{"pubkey": ed25519_public_key(seed).hex(), "stake": 100}],
    }
    with open(os.path.join(node.datadir, "genesis.json"), "w") as f:
        json.dump(genesis, f)
    node.extra_args += [f"-validator={keyfile}", f"-blocktime={blocktime}"]
    node.start()
    nodes.append(node)
    return node, addresses


def unused_port(offset):
    """A loopback port for a helper process: `offset` into this test's port
    block (clear of its nodes' ports) if free, else the kernel's pick."""
    import socket
    for port in (free_port_block() + 40 + offset, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise AssertionError("no free port")


class Worker(Process):
    """An assay-worker process for a wallet of `node`'s data directory, with
    its output server on its own loopback port and its log in the datadir."""

    def __init__(self, node, wallet, index, extra_args=None, fd_limit=None, rpcport=None):
        self.node = node
        self.rpcport = rpcport or node.rpcport  # another port: a HostileNode in front of node
        self.wallet = wallet
        self.fd_limit = fd_limit  # soft and hard descriptor limit, for tests of running out
        self.name = f"worker {wallet}"
        self.index = 100 + index  # for fw.run's failure report
        self.port = unused_port(index)
        self.extra_args = list(extra_args or [])
        self.logpath = os.path.join(node.datadir, f"worker-{wallet}.log")
        self.proc = None
        self.log = None

    def start(self, wait_registered=True):
        env = dict(os.environ)
        env["ASSAY_PASSPHRASE"] = "test-passphrase"
        self.log = open(self.logpath, "ab")
        args = [binary("assay-worker"), f"-datadir={self.node.datadir}", f"-rpcport={self.rpcport}",
                f"-wallet={self.wallet}", f"-listen=127.0.0.1:{self.port}", "-threads=1",
                "-poll-ms=100"] + self.extra_args
        def limit():
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, self.fd_limit))

        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=limit if self.fd_limit else None)
        if wait_registered:
            address = self.node.cli("wallet", "address", self.wallet).stdout.strip()
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"worker {self.wallet} exited: {self.tail()}")
                try:
                    if self.node.rpc("getworker", address)["status"] == "active" and "registered worker" in self.tail(50):
                        return self
                except RPCError:
                    pass
                time.sleep(0.1)
            raise AssertionError(f"worker {self.wallet} did not register: {self.tail()}")
        return self

    def log_path(self):
        return self.logpath


RPC_REFUSED = object()  # what a HostileNode's lie returns to answer with a JSON-RPC error
RPC_DROPPED = object()  # ... to close the connection unanswered, the call done at the node


class HostileNode:
    """The node of a client's threat model (docs/compute.md §10 "A hostile
    node"): a JSON-RPC man in the middle on a loopback port that forwards
    every request (JSON-RPC, POST /chunk, GET /chunk/...) to `node` as it
    came, credentials included, and hands the answer back, except that the
    result of a JSON-RPC call goes through `lie(method, params, result)`
    first, which returns the result to give (the same one, changed, or
    another). Threads serve each connection, so a long poll holds only
    its own. Standard library only."""

    def __init__(self, node, lie, offset=30, refuse_chunk=None, refuse_call=None):
        import http.server
        import threading
        self.node = node
        self.lie = lie
        # refuse_chunk(encoded chunk bytes) -> True: a POST /chunk answered
        # as the node refuses a chunk (HTTP 400, a JSON error), not forwarded
        self.refuse_chunk = refuse_chunk
        # refuse_call(method, params) -> True: that JSON-RPC call answered with
        # a JSON-RPC error without reaching the node
        self.refuse_call = refuse_call
        self.requests = []  # (method, params) of every JSON-RPC call forwarded, in order
        self.calls = {}  # method -> count
        self.port = unused_port(offset)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                import http.client
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", proxy.node.rpcport, timeout=900)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                if (self.command == "POST" and self.path == "/chunk" and proxy.refuse_chunk and body
                        and proxy.refuse_chunk(body)):
                    self.reply(400, json.dumps({"error": {"code": -26, "message": "chunk refused: held back by "
                                                          "the test's hostile node"}}).encode())
                    return
                if self.command == "POST" and self.path == "/" and body:
                    try:
                        call = json.loads(body)
                        if isinstance(call, dict):
                            proxy.requests.append((call.get("method"), call.get("params")))
                            if proxy.refuse_call and proxy.refuse_call(call.get("method"), call.get("params")):
                                self.reply(200, json.dumps({"jsonrpc": "2.0", "id": call.get("id"), "error": {
                                    "code": -26, "message": "refused by the test's hostile node"}}).encode())
                                return
                    except ValueError:
                        pass
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    status, data, ctype = resp.status, resp.read(), resp.getheader("Content-Type")
                finally:
                    conn.close()
                if self.command == "POST" and self.path == "/" and status == 200 and body:
                    data = proxy.rewrite(body, data)
                    if data is None:  # RPC_DROPPED: the node took the call, its answer is lost
                        self.close_connection = True
                        return
                self.reply(status, data, ctype)

            def reply(self, status, data, ctype="application/json"):
                """Answers with data and closes the connection."""
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = forward
            do_POST = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def rewrite(self, body, data):
        try:
            call, reply = json.loads(body), json.loads(data)
        except ValueError:
            return data
        if not isinstance(call, dict) or not isinstance(reply, dict) or reply.get("error"):
            return data
        method = call.get("method")
        self.calls[method] = self.calls.get(method, 0) + 1
        result = self.lie(method, call.get("params") or [], reply.get("result"))
        if result is RPC_DROPPED:
            return None
        if result is RPC_REFUSED:  # the node as if it failed: a JSON-RPC error
            reply.pop("result", None)
            reply["error"] = {"code": -32603, "message": "refused by the test's hostile node"}
        else:
            reply["result"] = result
        return json.dumps(reply).encode()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


BECH32M_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3


def bech32m_polymod(values):
    """BIP-350's checksum state over 5-bit values."""
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32m_hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32m_checksum(hrp, data):
    """The six 5-bit values that end hrp's text of data (BIP-350)."""
    pm = bech32m_polymod(bech32m_hrp_expand(hrp) + data + [0] * 6) ^ BECH32M_CONST
    return [(pm >> (5 * (5 - i))) & 31 for i in range(6)]


def bech32m_address(hrp, data):
    """The bech32m text (BIP-350) of the address bytes data under hrp."""
    words, acc, bits = [], 0, 0
    for b in data:
        acc, bits = (acc << 8) | b, bits + 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    return hrp + "1" + "".join(BECH32M_CHARSET[w] for w in words + bech32m_checksum(hrp, words))


def fresh_datadir(tmpdir, name, conf=None):
    """A new data directory tmpdir/name, holding assay.conf with the text
    conf when it is given."""
    datadir = os.path.join(tmpdir, name)
    os.mkdir(datadir, 0o700)
    os.chmod(datadir, 0o700)  # whatever the umask
    if conf is not None:
        with open(os.path.join(datadir, "assay.conf"), "w") as f:
            f.write(conf)
    return datadir


def worker_behind(node, hostile, nodes, wallet="w0"):
    """A worker of `wallet` (bond 100) whose RPC goes through `hostile`
    (a HostileNode in front of `node`), started and added to nodes."""
    w = Worker(node, wallet, 0, ["-bond=100"], rpcport=hostile.port)
    nodes.append(w.start())
    return w


def submit_tiny_job(node, *extra):
    """alice submits a 16x16x8 matmul-i8 job of four 8x8 tiles, 2 samples,
    reward 2 ASY, deadline 60 blocks (extra: more job submit flags); its id."""
    res = node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", "16", "--n", "16", "--k",
                   "8", "--tile-rows", "8", "--tile-cols", "8", "--samples", "2", "--reward", "2",
                   "--deadline", "60", *extra)
    return res.stdout.split()[0]


def job_record_with(record_hex, old, new):
    """A getjob/listjobs "record" (hex of the encoded record, docs/compute.md
    §8) with the bytes `old` (hex, found once) replaced by `new`: a lie about
    a field a test knows the value of, such as the job's seed."""
    assert record_hex.count(old) == 1, "the field is not in the record exactly once"
    return record_hex.replace(old, new)


def wait_job(node, job_id, states, timeout=90, missing_ok=False):
    """Polls getjob until its state is in `states`; returns the job and the
    list of distinct states seen, in order. missing_ok: the job may not
    exist yet (its job_submit is still in the mempool)."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            job = node.rpc("getjob", job_id)
        except RPCError:
            if not missing_ok:
                raise
            time.sleep(0.05)
            continue
        if not seen or seen[-1] != job["state"]:
            seen.append(job["state"])
        if job["state"] in states:
            return job, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {seen[-1] if seen else '?'} after {timeout}s (seen {seen})")


def fees_paid(node, address, first_height, last_height, kind=None):
    """Sum of the fees of every transaction `address` sent in blocks
    first_height..last_height (of that kind only, if given)."""
    total = 0
    for h in range(first_height, last_height + 1):
        for tx in node.rpc("getblock", h, 2)["txs"]:
            if tx["sender"] == address and (kind is None or tx.get("kind") == kind):
                total += tx["fee"]
    return total


# ---- BFT: a multi-validator local chain (the e2e runner and benchmarks) ----

def bft_network(tmpdir, nodes, stakes, followers=0, blocktime=200, wallets=(), funds=10**6 * 10**9,
                chain="assay-bft-net", port_base=None, start=True, extra_args=None, fund=(), compute=None,
                params=None):
    """A -network=local chain of len(stakes) validators (stake stakes[i],
    each its own random key in DATADIR/validator.json) and `followers`
    nodes that never sign, all with one genesis and each -addnode'd to
    every other. `wallets` is a list of (name, node index): the wallet is
    created in that node's datadir and funded in the genesis, as is each
    address in `fund` (funds each). blocktime: -blocktime and the genesis
    block_time_ms (None: the chain default, no -blocktime). compute: the
    genesis "compute" object, if any; params: more genesis parameters.
    Each node gets .role ("validator" or "follower"), .stake, .seed and
    .pubkey (hex; followers have none); a validator's key is also its
    wallet "validator", whose account is funded (it pays the fees of the
    evidence transactions its node submits). Started (start=True) and appended
    to `nodes` in order. Returns (nodes of this network, {wallet name:
    address})."""
    base = port_base or free_port_block()
    count = len(stakes) + followers
    net = [Node(i, tmpdir, network="local", port_base=base, extra_args=extra_args) for i in range(count)]
    addresses = {}
    for name, i in wallets:
        net[i].cli("wallet", "create", name)
        addresses[name] = net[i].cli("wallet", "address", name).stdout.strip()
    key_accounts = []
    for i, n in enumerate(net):
        n.role = "validator" if i < len(stakes) else "follower"
        n.stake = stakes[i] if i < len(stakes) else 0
        n.seed = os.urandom(32) if i < len(stakes) else None
        n.pubkey = ed25519_public_key(n.seed).hex() if n.seed else None
        if n.seed:  # the key's own account, funded: it pays for the evidence a node submits
            seedfile = os.path.join(n.datadir, "validator-seed.hex")
            with open(seedfile, "w") as f:
                f.write(n.seed.hex())
            n.cli("wallet", "import", "validator", "--seed-file", seedfile)
            os.remove(seedfile)
            key_accounts.append(n.cli("wallet", "address", "validator").stdout.strip())
    genesis = {
        "chain": chain, "network": "local", "time_ms": int(time.time() * 1000) - 1000,
        "params": dict(params or {}, **({} if blocktime is None else {"block_time_ms": blocktime})),
        "balances": [{"address": a, "amount": funds}
                     for a in list(addresses.values()) + list(fund) + key_accounts],
        "validators": [{"pubkey": n.pubkey, "stake": n.stake} for n in net if n.seed],
    }
    if compute is not None:
        genesis["compute"] = compute
    for n in net:
        with open(os.path.join(n.datadir, "genesis.json"), "w") as f:
            json.dump(genesis, f)
        if n.seed:
            keyfile = os.path.join(n.datadir, "validator.json")
            with open(keyfile, "w") as f:
                json.dump({"seed": n.seed.hex()}, f)
            n.extra_args.append(f"-validator={keyfile}")
        else:
            n.extra_args.append("-novalidator")
        if blocktime is not None:
            n.extra_args.append(f"-blocktime={blocktime}")
        n.extra_args += [f"-addnode={p2p_addr(o)}" for o in net if o is not n]
    for n in net:
        if start:
            n.start()
        nodes.append(n)
    return net, addresses


def chain_agreement(nodes, first=1, last=None):
    """Checks that every node holds the same block (hash and state root) at
    every height first..last (default: the lowest tip among them); returns
    the number of heights compared. Raises AssertionError naming the first
    height where two differ."""
    if last is None:
        last = min(n.height() for n in nodes)
    for h in range(first, last + 1):
        seen = {}
        for n in nodes:
            blk = n.rpc("getblock", h)
            seen.setdefault((blk["hash"], blk["state_root"]), []).append(n.name)
        if len(seen) != 1:
            raise AssertionError(f"fork at height {h}: {seen}")
    return max(0, last - first + 1)
