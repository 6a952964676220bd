"""getproof against a real node: the answer's compact form (depth, bitmap,
non-empty siblings) verifies with a verifier written here from
docs/storage.md alone and matches the canonical proof bytes;
`assay-cli getproof ADDR --verify` succeeds for a funded and an absent
account; and a lying node (a proxy that tampers with getproof or getblock
answers on their way to the CLI) is caught, with exit status 1."""

import hashlib
import http.server
import json
import os
import subprocess
import threading
import urllib.request

import framework as fw

UNIT = 10**9
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


# ---- an independent verifier, from docs/storage.md §1-2 only ----

def tagged(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def bit(key, i):
    return (key[i // 8] >> (7 - i % 8)) & 1


def address_bytes(address):
    """The 20 bytes of a bech32m address (checksum left to the node)."""
    data = address[address.rindex("1") + 1:-6]
    acc, nbits, out = 0, 0, bytearray()
    for c in data:
        acc = (acc << 5) | CHARSET.index(c)
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
    assert len(out) == 20, address
    return bytes(out)


def account_key(address):
    return hashlib.sha256(b"\x01" + address_bytes(address)).digest()


def expand(depth, bitmap, present):
    """The full sibling list from the compact form."""
    assert len(bitmap) == (depth + 7) // 8, (depth, bitmap.hex())
    full, it = [], iter(present)
    for i in range(depth):
        full.append(next(it) if bit(bitmap, i) else bytes(32))
    assert next(it, None) is None, "more siblings than bits set"
    return full


def fold(key, full, leaf):
    h = tagged("assay/smt-leaf", leaf[0] + leaf[1]) if leaf else bytes(32)
    for i in reversed(range(len(full))):
        h = tagged("assay/smt-node", full[i] + h) if bit(key, i) else tagged("assay/smt-node", h + full[i])
    return h


def verify(root, key, value, depth, bitmap, present, other_leaf=None):
    """value None: absence. True if the proof holds against root."""
    full = expand(depth, bitmap, present)
    if depth > 0 and full[depth - 1] == bytes(32):
        return False  # not compact
    if value is not None:
        leaf = (key, hashlib.sha256(value).digest())
    elif other_leaf:
        leaf = other_leaf
        if leaf[0] == key or any(bit(leaf[0], i) != bit(key, i) for i in range(depth)):
            return False
    else:
        leaf = None
    return fold(key, full, leaf) == root


def parse_proof_bytes(raw):
    """storage.md §2 encoding -> (has_leaf, depth, bitmap, present, leaf)."""
    has_leaf, pos = raw[0], 1
    depth, shift = 0, 0
    while True:
        b = raw[pos]
        pos += 1
        depth |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    bitmap = raw[pos:pos + (depth + 7) // 8]
    pos += len(bitmap)
    present = []
    for i in range(depth):
        if bit(bitmap, i):
            present.append(raw[pos:pos + 32])
            pos += 32
    leaf = (raw[pos:pos + 32], raw[pos + 32:pos + 64]) if has_leaf else None
    pos += 64 if has_leaf else 0
    assert pos == len(raw), "trailing bytes"
    return has_leaf, depth, bitmap, present, leaf


def check_answer(node, ans, address, want_included):
    key = account_key(address)
    fw.assert_eq(ans["key"], key.hex(), "state key = H(0x01 || address)")
    fw.assert_eq(ans["included"], want_included, "included")
    root = bytes.fromhex(node.rpc("getblock", ans["height"])["state_root"])
    fw.assert_eq(ans["state_root"], root.hex(), "state_root is that of block `height`")
    depth, bitmap = ans["depth"], bytes.fromhex(ans["bitmap"])
    present = [bytes.fromhex(s) for s in ans["siblings"]]
    assert all(s != bytes(32) for s in present), "siblings lists only non-empty ones"
    other = ans.get("other_leaf")
    other_leaf = (bytes.fromhex(other["key"]), bytes.fromhex(other["value_hash"])) if other else None
    value = bytes.fromhex(ans["value"]) if want_included else None
    assert verify(root, key, value, depth, bitmap, present, other_leaf), ans
    # The JSON fields are the canonical bytes, field for field.
    has_leaf, d2, b2, p2, leaf = parse_proof_bytes(bytes.fromhex(ans["proof"]))
    fw.assert_eq((d2, b2, p2), (depth, bitmap, present), "proof bytes vs JSON")
    if want_included:
        fw.assert_eq(leaf, (key, hashlib.sha256(value).digest()), "proof leaf")
    else:
        fw.assert_eq(leaf, other_leaf, "other_leaf")
    # And the independent verifier rejects what it should.
    assert not verify(root, key, None if want_included else b"\x00" * 48, depth, bitmap, present, other_leaf)
    if present:
        bad = [bytes([present[0][0] ^ 1]) + present[0][1:]] + present[1:]
        assert not verify(root, key, value, depth, bitmap, bad, other_leaf)


# ---- a node that lies: a proxy between the CLI and the real node ----

class TamperingProxy:
    """Forwards JSON-RPC to node; tamper(method, result) may rewrite the
    result of any single request on its way back."""

    def __init__(self, node, port):
        self.node = node
        self.tamper = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = urllib.request.Request(f"http://127.0.0.1:{node.rpcport}/", data=body, method="POST")
                req.add_header("Authorization", self.headers.get("Authorization", ""))
                req.add_header("Content-Type", "application/json")
                with urllib.request.urlopen(req, timeout=30) as resp:
                    data = resp.read()
                call, reply = json.loads(body), json.loads(data)
                if proxy.tamper and isinstance(call, dict) and reply.get("result") is not None:
                    reply["result"] = proxy.tamper(call["method"], reply["result"])
                    data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def cli(self, *args):
        env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase", ASSAY_SCRYPT_N="1024")
        cmd = [fw.binary("assay-cli"), f"-datadir={self.node.datadir}", f"-rpcport={self.port}"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def flip_hex(h, byte_index):
    b = bytearray(bytes.fromhex(h))
    b[byte_index] ^= 0x01
    return b.hex()


def expect_caught(proxy, what, tamper, args, contains):
    proxy.tamper = tamper
    res = proxy.cli(*args)
    proxy.tamper = None
    fw.assert_eq(res.returncode, 1, f"{what}: exit status ({res.stdout}{res.stderr})")
    assert contains in res.stderr, f"{what}: {res.stderr!r}"
    assert "verified against" not in res.stdout, f"{what}: {res.stdout!r}"


def test(tmpdir, nodes):
    # A slow producer, so a proof and the header it names usually meet at
    # one tip; the CLI's default header is the proof's own height anyway.
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "alice")
    node.cli("wallet", "create", "nobody")
    alice = node.cli("wallet", "address", "alice").stdout.strip()
    nobody = node.cli("wallet", "address", "nobody").stdout.strip()
    node.cli("send", "--from", "dev", "--to", alice, "--amount", "3", "--wait")

    # The RPC answer, checked from the docs alone; a few more accounts give
    # paths with empty siblings (zero bits in the bitmap) now and then.
    check_answer(node, node.rpc("getproof", alice), alice, True)
    check_answer(node, node.rpc("getproof", nobody), nobody, False)
    others = []
    for i in range(8):
        node.cli("wallet", "create", f"w{i}")
        others.append(node.cli("wallet", "address", f"w{i}").stdout.strip())
        node.cli("send", "--from", "dev", "--to", others[-1], "--amount", "1")
    fw.wait_until(lambda: node.rpc("getmempoolinfo")["size"] == 0, 30, "the transfers to commit")
    gaps = 0
    for a in others + [alice]:
        ans = node.rpc("getproof", a)
        check_answer(node, ans, a, True)
        gaps += ans["depth"] - len(ans["siblings"])
    print(f"{len(others) + 1} inclusion proofs, {gaps} empty siblings among them")

    fw.assert_raises_rpc(-32602, node.rpc, "getproof", "dassay1notanaddress")
    fw.assert_raises_rpc(-32602, node.rpc, "getproof", 7)
    alice_testnet = node.cli("-network=testnet", "wallet", "address", "alice").stdout.strip()
    assert alice_testnet.startswith("tassay1"), alice_testnet
    e = fw.assert_raises_rpc(-8, node.rpc, "getproof", alice_testnet)
    assert "another network" in e.message, e.message

    # The CLI verifies a funded account against the proof's block...
    out = node.cli("getproof", alice, "--verify").stdout
    assert "balance 3.000000000 ASY" in out and "verified against block " in out, out
    j = node.cli_json("getproof", "alice", "--verify")
    fw.assert_eq((j["verified"], j["included"], j["account"]["balance"]), (True, True, 3 * UNIT), "json")
    fw.assert_eq(j["of"], alice, "wallet name resolved")
    blk = node.rpc("getblock", j["block"]["height"])
    fw.assert_eq((j["block"]["hash"], j["block"]["state_root"]), (blk["hash"], blk["state_root"]), "block")
    # ...and an absent one.
    out = node.cli("getproof", nobody, "--verify").stdout
    assert "absent" in out and "verified against block " in out, out
    j = node.cli_json("getproof", nobody, "--verify")
    fw.assert_eq((j["verified"], j["included"], j["account"]), (True, False, None), "absent json")
    # A raw state key works too.
    out = node.cli("getproof", account_key(alice).hex(), "--verify").stdout
    assert "value   48 bytes" in out and "verified against" in out, out

    # --header-hash pins a header; the node's block for it must hash to it.
    # The tip moves, so retry until a proof and the named tip meet.
    for _ in range(20):
        info = node.rpc("getblockchaininfo")
        res = node.cli("getproof", alice, "--verify", "--header-hash", info["best_hash"], check=False)
        if res.returncode == 0:
            break
        assert "getproof answers for the tip only" in res.stderr, res.stderr
    fw.assert_eq(res.returncode, 0, f"--header-hash: {res.stderr}")
    assert f"(hash {info['best_hash']})" in res.stdout, res.stdout

    # A block whose state differs from the tip's: said clearly, exit 1.
    res = node.cli("getproof", alice, "--verify", "--height", "0", check=False)
    fw.assert_eq(res.returncode, 1, f"--height 0: {res.stdout}{res.stderr}")
    assert "getproof answers for the tip only" in res.stderr and "block 0" in res.stderr, res.stderr
    res = node.cli("getproof", alice, "--verify", "--height", "x", check=False)
    fw.assert_eq(res.returncode, 2, "bad --height")
    res = node.cli("getproof", alice, "--height", "1", check=False)
    fw.assert_eq(res.returncode, 2, "--height without --verify")

    # A lying node.
    proxy = TamperingProxy(node, fw.unused_port(1))
    res = proxy.cli("getproof", alice, "--verify")
    fw.assert_eq(res.returncode, 0, f"honest proxy: {res.stderr}")

    def on(method, fn):
        return lambda m, r: fn(r) if m == method else r

    def proof_sibling_flipped(r):
        r["proof"] = flip_hex(r["proof"], 3 + (r["depth"] + 7) // 8)  # first byte of the first sibling
        return r

    def more_money(r):
        v = bytearray(bytes.fromhex(r["value"]))
        v[0] ^= 0x80  # balance, little-endian: a different amount
        r["value"] = v.hex()
        return r

    def truncated(r):  # the last sibling dropped: one level shorter
        _, depth, bitmap, present, leaf = parse_proof_bytes(bytes.fromhex(r["proof"]))
        d = depth - 1
        bm = bytearray(bitmap[:(d + 7) // 8])
        if d % 8:
            bm[-1] &= (0xFF << (8 - d % 8)) & 0xFF
        keep = sum(bit(bitmap, i) for i in range(d))
        raw = bytes([1, d]) + bytes(bm) + b"".join(present[:keep]) + leaf[0] + leaf[1]
        r["proof"] = raw.hex()
        return r

    def claims_absent(r):  # "no such account", with an empty-subtree proof
        r["included"], r["value"] = False, None
        raw = bytes.fromhex(r["proof"])
        r["proof"] = (b"\x00" + raw[1:len(raw) - 64]).hex()
        return r

    def other_key(r):
        r["key"] = flip_hex(r["key"], 0)
        return r

    ans = node.rpc("getproof", alice)
    assert ans["depth"] >= 1, ans
    expect_caught(proxy, "flipped sibling", on("getproof", proof_sibling_flipped), ["getproof", alice, "--verify"],
                  "does NOT verify")
    expect_caught(proxy, "changed balance", on("getproof", more_money), ["getproof", alice, "--verify"],
                  "does NOT verify")
    expect_caught(proxy, "truncated siblings", on("getproof", truncated), ["getproof", alice, "--verify"],
                  "does NOT verify")
    expect_caught(proxy, "present claimed absent", on("getproof", claims_absent), ["getproof", alice, "--verify"],
                  "does NOT verify")
    expect_caught(proxy, "answer for another key", on("getproof", other_key), ["getproof", alice, "--verify"],
                  "another state key")

    def garbage_proof(r):
        r["proof"] = r["proof"] + "00"
        return r
    expect_caught(proxy, "trailing proof byte", on("getproof", garbage_proof), ["getproof", alice, "--verify"],
                  "do not decode")

    # A header that is not the one named: its hash gives it away.
    tip = node.rpc("getblockchaininfo")["best_hash"]

    def forged_header(r):
        if isinstance(r, str):
            raw = bytearray(bytes.fromhex(r))
            raw[4 + 32 + 8 + 8 + 32 + 32] ^= 0x01  # a state_root byte
            return raw.hex()
        return r
    expect_caught(proxy, "forged header", on("getblock", forged_header),
                  ["getproof", alice, "--verify", "--header-hash", tip], "refusing it")
    # The same forgery without a pinned hash moves the state_root under the
    # proof, which then fails against it.
    expect_caught(proxy, "forged state_root", on("getblock", forged_header), ["getproof", alice, "--verify"],
                  "NOT verify")
    proxy.server.shutdown()

    # The node stays up and keeps producing.
    h = node.height()
    node.wait_for_height(h + 1)


if __name__ == "__main__":
    fw.run(test)
