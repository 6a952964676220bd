"""A scripted raw-socket peer sends each kind of bad input and the test checks
the reaction docs/p2p.md §9 documents: disconnect, misbehaviour points, or a
ban visible in listbanned. Frame and protocol attacks go to the producer A
while an honest follower B (-connect A) must stay in sync; bad blocks go to
an isolated node T that is behind, so that the corrupted block is the next
one it would apply. Each attack comes from its own loopback address
(127.0.0.X), so one ban does not hide the next attack or touch B."""

import hashlib
import os
import socket
import struct
import time

import framework as fw

MAGIC_DEV = 0xD1A5A7E0
MAGIC_GARBAGE = 0x11223344  # no network's magic
MAX_FRAME = 8 << 20
MAX_INV = 1000


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def frame(cmd, payload=b"", magic=MAGIC_DEV, length=None, checksum=None):
    name = cmd.encode() if isinstance(cmd, str) else cmd
    hdr = struct.pack("<I", magic) + name.ljust(12, b"\0")
    hdr += struct.pack("<I", len(payload) if length is None else length)
    hdr += hashlib.sha256(payload).digest()[:4] if checksum is None else checksum
    return hdr + payload


def version(chain_id, best_height=0, ua=b"/badpeer:0/", flags=0):
    """flags=1 announces NET_F_ZSTD: after its verack the peer must then
    send compressed payloads (docs/p2p.md §3)."""
    nonce = int.from_bytes(os.urandom(8), "little")
    return (struct.pack("<I", 1) + chain_id + struct.pack("<QQHI", best_height, nonce, 0, flags)
            + varint(len(ua)) + ua)


def inv(items):
    return varint(len(items)) + b"".join(bytes([t]) + h for t, h in items)


class RawPeer:
    """One TCP connection from 127.0.0.<host> speaking the frame format by
    hand (no compression: it does not announce the zstd flag)."""

    def __init__(self, node, host):
        self.ip = f"127.0.0.{host}"
        self.sock = socket.create_connection(("127.0.0.1", node.port), timeout=10, source_address=(self.ip, 0))
        self.buf = b""
        self.rejects = []

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except (ConnectionResetError, BrokenPipeError):
            return False
        except socket.timeout:
            return None
        if not data:
            return False
        self.buf += data
        return True

    def _next_frame(self):
        """A complete frame from the buffer, or None."""
        if len(self.buf) < 24:
            return None
        length = struct.unpack_from("<I", self.buf, 16)[0]
        if len(self.buf) < 24 + length:
            return None
        cmd = self.buf[4:16].rstrip(b"\0").decode()
        payload = self.buf[24:24 + length]
        self.buf = self.buf[24 + length:]
        if cmd == "reject":
            self.rejects.append(payload[0])
        return cmd, payload

    def read(self, timeout=10):
        """Next frame as (command, payload); None at EOF or timeout."""
        deadline = time.time() + timeout
        while True:
            msg = self._next_frame()
            if msg:
                return msg
            left = deadline - time.time()
            if left <= 0 or not self._fill(left):
                return None

    def expect(self, want, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.read(deadline - time.time())
            if msg is None:
                break
            if msg[0] == want:
                return msg[1]
        raise AssertionError(f"{self.ip}: no {want} from the node")

    def handshake(self, chain_id, best_height=0, flags=0):
        self.send(frame("version", version(chain_id, best_height, flags=flags)))
        self.expect("version")
        self.send(frame("verack"))
        self.expect("verack")

    def alive(self):
        """Answers a ping (so the node still reads us)."""
        nonce = os.urandom(8)
        self.send(frame("ping", nonce))
        deadline = time.time() + 10
        while time.time() < deadline:
            msg = self.read(deadline - time.time())
            if msg is None:
                return False
            if msg == ("pong", nonce):
                return True
        return False

    def closed_by_node(self, timeout=10):
        """True when the node closes the connection within timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self._fill(deadline - time.time())
            while self._next_frame():
                pass  # what it sent before closing (a reject is recorded)
            if r is False:
                return True
            if r is None:
                return False
        return False

    def close(self):
        self.sock.close()


def banned_ips(node):
    return {b["address"]: b for b in node.rpc("listbanned")}


def peer_by_ip(node, ip):
    for p in node.rpc("getpeerinfo"):
        if p["addr"].rsplit(":", 1)[0] == ip:
            return p
    return None


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(a)
    b = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"]).start()
    nodes.append(b)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(4)
    expected_bans = set()
    host = iter(range(10, 250))

    def attack(name, send, ban, handshake=False, points=None):
        """Opens a connection, optionally shakes hands, sends the bad input,
        and checks: the node closes the connection, and bans exactly when
        docs/p2p.md says so."""
        p = RawPeer(a, next(host))
        if handshake:
            p.handshake(chain_id)
        send(p)
        assert p.closed_by_node(), f"{name}: node did not disconnect"
        p.close()
        if ban:
            fw.wait_until(lambda: p.ip in banned_ips(a), 10, f"{name}: ban of {p.ip}")
            assert banned_ips(a)[p.ip]["reason"], f"{name}: ban without a reason"
            expected_bans.add(p.ip)
        else:
            time.sleep(0.3)
            assert p.ip not in banned_ips(a), f"{name}: {p.ip} banned, but the fault is worth < 100 points"
        # The honest follower is unaffected.
        fw.same_chain_at([a, b], a.height(), timeout=20)
        return p

    # Stream faults worth 100 points: disconnect and ban.
    attack("garbage bytes", lambda p: p.send(b"\x00GARBAGE" + os.urandom(200)), ban=True)
    # a magic no Assay network has (another network's costs nothing: p2p_wrong_network.py)
    attack("unknown magic", lambda p: p.send(frame("version", version(chain_id), magic=MAGIC_GARBAGE)), ban=True)
    attack("length over the frame limit",
           lambda p: p.send(frame("ping", b"\0" * 8, length=MAX_FRAME + 1)), ban=True, handshake=True)
    # Stream faults worth 50 points: disconnect, no ban.
    attack("bad checksum", lambda p: p.send(frame("ping", b"\1" * 8, checksum=b"\0\0\0\0")), ban=False,
           handshake=True)
    attack("unknown command", lambda p: p.send(frame("getstate", b"")), ban=False, handshake=True)

    # Another chain's node: reject code 2 and close, no points.
    p = attack("wrong chain_id", lambda p: p.send(frame("version", version(hashlib.sha256(b"other").digest()))),
               ban=False)
    fw.assert_eq(p.rejects, [2], "reject code for a wrong chain")

    # An inv flood: full-size invs are legal (the node asks once per hash and
    # stays connected); an inv over the 1000-item limit scores 50, a second
    # one bans.
    p = RawPeer(a, next(host))
    p.handshake(chain_id)
    for _ in range(40):
        p.send(frame("inv", inv([(1, os.urandom(32)) for _ in range(MAX_INV)])))
    assert p.alive(), "node stopped answering after 40,000 announced transactions"
    fw.assert_eq(peer_by_ip(a, p.ip)["score"], 0, "score after legal invs")
    over = frame("inv", inv([(1, os.urandom(32)) for _ in range(MAX_INV + 1)]))
    p.send(over)
    assert p.alive(), "one oversized inv (50 points) should not disconnect"
    fw.assert_eq(peer_by_ip(a, p.ip)["score"], 50, "score after one oversized inv")
    p.send(over)
    assert p.closed_by_node(), "second oversized inv did not disconnect"
    fw.wait_until(lambda: p.ip in banned_ips(a), 10, "ban after the inv flood")
    expected_bans.add(p.ip)
    p.close()

    # A slow-drip peer: one byte of its version every 0.5 s never completes
    # the handshake; the node closes it at the 10 s handshake timeout with
    # 20 points (no ban).
    p = RawPeer(a, next(host))
    msg = frame("version", version(chain_id))
    start = time.time()
    closed_after = None
    for i in range(len(msg)):
        try:
            p.send(msg[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.time() - start
            break
        if p._fill(0.5) is False:
            closed_after = time.time() - start
            break
    assert closed_after is not None, "slow-drip peer was never disconnected"
    assert 8 <= closed_after <= 20, f"slow-drip peer closed after {closed_after:.1f}s, not at the 10 s timeout"
    assert p.ip not in banned_ips(a), "slow handshake is 20 points, not a ban"
    p.close()

    # Bad blocks, to a node behind the chain: T, isolated at height 0.
    t = fw.Node(2, tmpdir, extra_args=["-novalidator"]).start()
    nodes.append(t)
    raw = {h: bytes.fromhex(a.rpc("getblock", a.rpc("getblockhash", h), 0)) for h in (1, 2, 3)}
    blk2 = a.rpc("getblock", 2)

    def corrupt(enc, field_hex, offset):
        pos = enc.find(bytes.fromhex(field_hex))
        assert pos > 0, "field not found in the encoded block"
        b = bytearray(enc)
        b[pos + offset] ^= 0x01
        return bytes(b)

    bad_blocks = [
        ("bad beacon signature", corrupt(raw[2], blk2["beacon_proof"], 60), "bad beacon proof"),
        ("wrong state root", corrupt(raw[2], blk2["state_root"], 0), "state_root does not match"),
    ]
    for name, bad, why in bad_blocks:
        p = RawPeer(t, next(host))
        # Claim three blocks: T asks for them with getblocks and gets block 1
        # (valid) and the corrupted block 2.
        p.handshake(chain_id, best_height=3)
        payload = p.expect("getblocks")
        start, count = struct.unpack("<QI", payload)
        assert start in (1, 2) and count >= 2, (start, count)
        for h in range(start, 3):
            enc = bad if h == 2 else raw[h]
            p.send(frame("block", struct.pack("<Q", h) + varint(len(enc)) + enc))
        assert p.closed_by_node(), f"{name}: node did not disconnect"
        fw.wait_until(lambda: p.ip in banned_ips(t), 10, f"{name}: ban")
        fw.assert_eq(t.height(), 1, f"{name}: T applied block 1 only")
        assert why in open(t.datadir + "/debug.log").read(), f"{name}: no '{why}' in the log"
        p.close()

    # T joins the honest network and catches up; everyone agrees.
    t.rpc("addnode", fw.p2p_addr(a))
    fw.same_chain_at([a, b, t], a.height() + 2, timeout=30)

    # B stayed in sync, was never banned, and still has A as its peer.
    fw.assert_eq(b.rpc("listbanned"), [], "B's bans")
    assert any(peer["addr"] == fw.p2p_addr(a) for peer in b.rpc("getpeerinfo")), "B lost A"
    fw.assert_eq(set(banned_ips(a)), expected_bans, "A's ban list")
    assert "127.0.0.1" not in banned_ips(a)

    # Operator controls: setban / clearbanned.
    a.rpc("setban", "127.0.0.250", "add", 60)
    assert "127.0.0.250" in banned_ips(a)
    a.rpc("setban", "127.0.0.250", "remove")
    assert "127.0.0.250" not in banned_ips(a)
    a.rpc("clearbanned")
    fw.assert_eq(a.rpc("listbanned"), [], "bans after clearbanned")


if __name__ == "__main__":
    fw.run(test)
