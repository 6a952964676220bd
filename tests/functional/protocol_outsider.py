#!/usr/bin/env python3
"""A client written from docs/protocol.md, docs/storage.md, docs/consensus.md
and docs/rpc.md alone, against a dev node. It derives addresses and their
bech32m text, computes the dev chain's id and genesis state from the
genesis the docs describe (and checks protocol.md §7's table of known
values), encodes and signs transfers byte for byte and checks that the node
names them by the txids computed here, then decodes every raw block up to
the last of them and recomputes its hash, tx_root, last_commit_hash (its
precommit verified by the Ed25519 rules of §2), validators_hash, beacon (the
VRF proof verified by RFC 9381) and state_root (replaying the chain from the
genesis), and verifies the receiver's state proof, and an absent account's,
against the state_root of a header it hashed itself.

Only the framework's process handling and its RFC 8032 signing are used;
every encoding, hash and check below follows the docs, not the node's code."""

import hashlib
import os
import re
import struct
import time

import framework as fw
from p2p_bad_peer import varint


# ---- protocol.md §1, §2: encoding and hashes ----

def H(m):
    return hashlib.sha256(m).digest()


def H_tag(tag, m):
    t = H(tag.encode())
    return H(t + t + m)


def u8(n):
    return struct.pack("<B", n)


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)




def bytes_field(b):
    return varint(len(b)) + b


class Reader:
    """A decoder that refuses what protocol.md §1 says decoders refuse."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        assert self.pos + n <= len(self.data), f"truncated at offset {self.pos}"
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def varint(self):
        start, n, shift = self.pos, 0, 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            assert shift < 70, "varint longer than 10 bytes"
        assert n < 2**64, "varint beyond 64 bits"
        assert self.data[start:self.pos] == varint(n), "non-minimal varint"
        return n

    def bytes(self, limit):
        n = self.varint()
        assert n <= limit, f"length {n} above {limit}"
        return self.take(n)

    def end(self):
        assert self.pos == len(self.data), f"{len(self.data) - self.pos} trailing bytes"


# ---- protocol.md §2: addresses and their bech32m text ----

CHARSET = fw.BECH32M_CHARSET
BECH32M_CONST = fw.BECH32M_CONST
_polymod = fw.bech32m_polymod
_hrp_expand = fw.bech32m_hrp_expand


def address_of(pubkey):
    return H(pubkey)[:20]


def address_text(addr, hrp="dassay"):
    assert len(addr) == 20
    bits = int.from_bytes(addr, "big")
    data = [(bits >> (5 * (31 - i))) & 31 for i in range(32)]  # 160 bits, MSB first
    pm = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ BECH32M_CONST
    checksum = [(pm >> (5 * (5 - i))) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def address_decode(text):
    assert text == text.lower() or text == text.upper(), "mixed case"
    text = text.lower()
    hrp, _, rest = text.rpartition("1")
    assert hrp in ("assay", "tassay", "dassay"), f"unknown HRP {hrp!r}"
    values = [CHARSET.index(c) for c in rest]
    assert _polymod(_hrp_expand(hrp) + values) == BECH32M_CONST, "bad checksum"
    data = values[:-6]
    assert len(data) == 32, "data part is not 20 bytes"
    bits = 0
    for v in data:
        bits = bits << 5 | v
    return hrp, bits.to_bytes(20, "big")


# ---- protocol.md §7: the dev chain's genesis and chain id ----

DEV_SEED = H(b"assay/dev-key/0")
DEV_WORKER_SEED = H(b"assay/dev-worker/0")
ASY = 10**9

# §8 "default (dev)", in §8 order, with the widths that §7 lists
DEV_PARAMS = [
    ("block_time_ms", "Q", 1000), ("max_block_txs", "I", 10000), ("max_block_bytes", "Q", 8 * 2**20 - 8 * 2**10),
    ("max_tx_bytes", "I", 2**20), ("max_block_gas", "Q", 10**9), ("min_fee", "Q", 1000), ("gas_price", "Q", 1),
    ("max_future_ms", "Q", 15000), ("min_validator_bond", "Q", 10**12), ("unbonding_period", "I", 100),
    ("evidence_max_age", "I", 99), ("evidence_slash_bps", "I", 500), ("jail_blocks", "I", 20),
    ("downtime_window", "I", 100), ("downtime_max_missed", "I", 80),
    ("timeout_propose_ms", "Q", 500), ("timeout_propose_delta_ms", "Q", 100),
    ("timeout_prevote_ms", "Q", 200), ("timeout_prevote_delta_ms", "Q", 100),
    ("timeout_precommit_ms", "Q", 200), ("timeout_precommit_delta_ms", "Q", 100),
]
# compute.md §9 defaults, in the order of protocol.md §7
DEV_COMPUTE = [
    ("samples_k", "I", 66), ("max_dim", "I", 4096), ("max_output_bytes", "Q", 64 * 2**20),
    ("reveal_window", "I", 20), ("dispute_window", "I", 100), ("commit_window", "I", 50),
    ("min_reward", "Q", 10**6), ("min_bond", "Q", 10**11), ("max_blob_bytes", "Q", 2**20),
    ("slash_bps", "I", 10000), ("slash_submitter_bps", "I", 5000), ("missed_deadline_slash_bps", "I", 100),
    ("gas_per_check_unit", "Q", 1), ("dispute_bond", "Q", 10**9), ("bond_reward_bps", "I", 10000),
    ("max_live_jobs", "I", 4096), ("max_workers", "I", 1024), ("max_jobs_per_worker", "I", 16),
    ("max_deadline_blocks", "I", 100000), ("unbond_delay", "I", 200), ("challenge_delay", "I", 2),
    ("salt_window", "I", 10), ("reveal_block_gas", "Q", 10**9), ("upload_window", "I", 20),
    ("chunk_budget_bytes", "Q", 8 * 2**20), ("chunk_retention_blocks", "I", 1000),
]


def dev_chain_id(dev_pub, worker_pub):
    out = bytes_field(b"assay-dev") + bytes_field(b"dev") + u64(1764547200000)  # 2025-12-01T00:00Z
    out += b"".join(struct.pack("<" + w, v) for _, w, v in DEV_PARAMS)
    out += b"".join(struct.pack("<" + w, v) for _, w, v in DEV_COMPUTE)
    balances = sorted([(address_of(dev_pub), 10**9 * ASY), (address_of(worker_pub), 10**6 * ASY)])
    out += varint(len(balances)) + b"".join(a + u64(v) for a, v in balances)
    out += varint(1) + dev_pub + u64(1000)
    return H_tag("assay/genesis", out)


# ---- protocol.md §3: transactions ----

KIND_TRANSFER = 0


def tx_unsigned(chain_id, nonce, sender_pub, fee, gas_limit, kind, payload):
    return chain_id + u64(nonce) + sender_pub + u64(fee) + u64(gas_limit) + u8(kind) + bytes_field(payload)


def tx_sighash(unsigned):
    return H_tag("assay/tx", unsigned)


def txid_of(full):
    return H_tag("assay/txid", full)


def decode_tx(r):
    tx = {"chain_id": r.take(32), "nonce": r.u64(), "sender": r.take(32), "fee": r.u64(),
          "gas_limit": r.u64(), "kind": r.take(1)[0]}
    tx["payload"] = r.bytes(4 * 2**20)
    tx["sig"] = r.take(64)
    return tx


# ---- protocol.md §4: blocks ----

HEADER_FIELDS = [("version", 4), ("chain_id", 32), ("height", 8), ("time_ms", 8), ("prev_hash", 32),
                 ("tx_root", 32), ("state_root", 32), ("last_commit_hash", 32), ("validators_hash", 32),
                 ("proposer", 32), ("beacon", 32), ("beacon_proof", 80)]
HEADER_BYTES = sum(n for _, n in HEADER_FIELDS)


def decode_header(r):
    start = r.pos
    h = {}
    for name, n in HEADER_FIELDS:
        raw = r.take(n)
        h[name] = int.from_bytes(raw, "little") if name in ("version", "height", "time_ms") else raw
    h["raw"] = r.data[start:r.pos]
    return h


def decode_block(raw):
    r = Reader(raw)
    header = decode_header(r)
    ntx = r.varint()
    txs = [r.bytes(4 * 2**20) for _ in range(ntx)]
    commit_start = r.pos
    commit = {"height": r.u64(), "round": r.u32(), "block_hash": r.take(32)}
    n = r.varint()
    assert n <= 1024
    commit["sigs"] = [(r.take(32), r.take(64)) for _ in range(n)]
    commit["raw"] = raw[commit_start:r.pos]
    r.end()
    return header, txs, commit


def merkle_root(leaves):
    """RFC 6962 with plain SHA-256 (protocol.md §2)."""
    if not leaves:
        return H(b"")
    if len(leaves) == 1:
        return H(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return H(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:]))


# ---- protocol.md §4.4: the beacon, an ECVRF proof (RFC 9381) ----

_Q = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _Q - 2, _Q) % _Q


def _point_decode(s):
    """RFC 8032 §5.1.3; None where s is no canonical point."""
    y = int.from_bytes(s, "little") & ((1 << 255) - 1)
    sign = s[31] >> 7
    if y >= _Q:
        return None
    xx = (y * y - 1) * pow(_D * y * y + 1, _Q - 2, _Q) % _Q
    x = pow(xx, (_Q + 3) // 8, _Q)
    if (x * x - xx) % _Q:
        x = x * pow(2, (_Q - 1) // 4, _Q) % _Q
    if (x * x - xx) % _Q or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = _Q - x
    return x, y


def _point_add(p1, p2):
    """Affine points; the sums of _point_mul run in extended coordinates
    (RFC 8032 §5.1.4), which need no inversion."""
    return _from_ext(_ext_add(_to_ext(p1), _to_ext(p2)))


def _to_ext(p):
    return p[0], p[1], 1, p[0] * p[1] % _Q


def _from_ext(e):
    zi = pow(e[2], _Q - 2, _Q)
    return e[0] * zi % _Q, e[1] * zi % _Q


def _ext_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _Q
    b = (p[1] + p[0]) * (q[1] + q[0]) % _Q
    c = 2 * _D * p[3] * q[3] % _Q
    d = 2 * p[2] * q[2] % _Q
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _Q, g * h % _Q, f * g % _Q, e * h % _Q


def _point_mul(k, p):
    out, base = (0, 1, 1, 0), _to_ext(p)
    while k:
        if k & 1:
            out = _ext_add(out, base)
        base = _ext_add(base, base)
        k >>= 1
    return _from_ext(out)


def _point_neg(p):
    return (-p[0]) % _Q, p[1]


def _point_encode(p):
    x, y = p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_B = _point_decode((4 * pow(5, _Q - 2, _Q) % _Q).to_bytes(32, "little"))
_SUITE = b"\x03"  # ECVRF-EDWARDS25519-SHA512-TAI


def _vrf_hash_to_curve(pk, alpha):
    """RFC 9381 §5.4.1.1, try-and-increment, salt = the public key."""
    for ctr in range(256):
        p = _point_decode(hashlib.sha512(_SUITE + b"\x01" + pk + alpha + bytes([ctr]) + b"\x00").digest()[:32])
        if p is not None:
            return _point_mul(8, p)
    raise AssertionError("hash_to_curve found no point")


def vrf_verify(pk, alpha, proof):
    """RFC 9381 §5.3: the 64-byte output of a valid proof, else None."""
    y, gamma = _point_decode(pk), _point_decode(proof[:32])
    c, s = int.from_bytes(proof[32:48], "little"), int.from_bytes(proof[48:80], "little")
    if y is None or gamma is None or s >= _L:
        return None
    h = _vrf_hash_to_curve(pk, alpha)
    u = _point_add(_point_mul(s, _B), _point_neg(_point_mul(c, y)))
    v = _point_add(_point_mul(s, h), _point_neg(_point_mul(c, gamma)))
    c2 = hashlib.sha512(_SUITE + b"\x02" + pk + b"".join(_point_encode(q) for q in (h, gamma, u, v))
                        + b"\x00").digest()[:16]
    if int.from_bytes(c2, "little") != c:
        return None
    return hashlib.sha512(_SUITE + b"\x03" + _point_encode(_point_mul(8, gamma)) + b"\x00").digest()


def ed25519_verify(pub, msg, sig):
    """protocol.md §2's four rules, in order."""
    r_bytes, s = sig[:32], int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    r_point = _point_decode(r_bytes)
    y = int.from_bytes(r_bytes, "little") & ((1 << 255) - 1)
    if r_point is None and y >= _Q:  # a non-canonical y: judge the point it reduces to
        r_point = _point_decode(((y - _Q) | (r_bytes[31] >> 7 << 255)).to_bytes(32, "little"))
    if r_point is not None and _point_mul(8, r_point) == (0, 1):
        return False
    a_point = _point_decode(pub)
    if a_point is None or _point_mul(8, a_point) == (0, 1):
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + pub + msg).digest(), "little") % _L
    return _point_encode(_point_add(_point_mul(s, _B), _point_neg(_point_mul(k, a_point)))) == r_bytes


# ---- storage.md §2: state proofs ----

def bit(key, i):
    return (key[i // 8] >> (7 - i % 8)) & 1


def decode_proof(raw):
    r = Reader(raw)
    has_leaf = r.take(1)[0]
    assert has_leaf in (0, 1)
    depth = r.varint()
    assert depth <= 256
    bitmap = r.take((depth + 7) // 8)
    for i in range(depth, len(bitmap) * 8):
        assert not bit(bitmap, i), "padding bit set"
    siblings = []
    for i in range(depth):
        if bit(bitmap, i):
            s = r.take(32)
            assert s != bytes(32), "present sibling of zeros"
            siblings.append(s)
        else:
            siblings.append(bytes(32))
    leaf = (r.take(32), r.take(32)) if has_leaf else None
    r.end()
    return depth, bitmap, siblings, leaf


def smt_verify(key, value_hash, depth, siblings, leaf, root):
    """value_hash None: exclusion. Returns whether the proof holds."""
    if depth > 256 or len(siblings) != depth:
        return False
    if value_hash is not None:
        if leaf is None or leaf != (key, value_hash):
            return False
    elif leaf is not None:
        if leaf[0] == key or any(bit(leaf[0], i) != bit(key, i) for i in range(depth)):
            return False
    if depth > 0 and siblings[depth - 1] == bytes(32):
        return False
    h = H_tag("assay/smt-leaf", leaf[0] + leaf[1]) if leaf else bytes(32)
    for i in range(depth - 1, -1, -1):
        h = H_tag("assay/smt-node", siblings[i] + h) if bit(key, i) else H_tag("assay/smt-node", h + siblings[i])
    return h == root


def check_proof_json(p, key):
    """The JSON fields and the canonical bytes say the same thing (rpc.md)."""
    depth, bitmap, siblings, leaf = decode_proof(bytes.fromhex(p["proof"]))
    fw.assert_eq(p["key"], key.hex(), "proof key")
    fw.assert_eq(p["depth"], depth, "depth")
    fw.assert_eq(p["bitmap"], bitmap.hex(), "bitmap")
    fw.assert_eq(p["siblings"], [s.hex() for s in siblings if s != bytes(32)], "listed siblings")
    return depth, siblings, leaf


def smt_root(entries, depth=0):
    """storage.md §1's definition over sorted (key, value hash) pairs."""
    if not entries:
        return bytes(32)
    if len(entries) == 1:
        return H_tag("assay/smt-leaf", entries[0][0] + entries[0][1])
    left = [e for e in entries if not bit(e[0], depth)]
    right = [e for e in entries if bit(e[0], depth)]
    return H_tag("assay/smt-node", smt_root(left, depth + 1) + smt_root(right, depth + 1))


# ---- the state of a dev chain, replayed from its blocks (protocol.md §5, §6, §10) ----

def set_key(height):
    return H(b"\x09" + b"validators/set" + u64(height))


class DevState:
    """The dev chain's state from its genesis (§7), with the rules a chain of
    transfers and one validator that signs every commit meets: §5.2 for the
    transfers, §10.4 for the end of block (no misses, no unbonding: the
    validator record stays as it is, the set of h + 2 is written and that of
    h − evidence_max_age deleted)."""

    EVIDENCE_MAX_AGE = 99

    def __init__(self, dev_pub, worker_pub):
        self.dev_pub = dev_pub
        self.accounts = {address_of(dev_pub): [10**9 * ASY, 0], address_of(worker_pub): [10**6 * ASY, 0]}
        self.other = {
            H(b"\x04" + dev_pub): u64(1000 * ASY) + u8(0) + u64(0) + varint(0) + bytes_field(b""),
            H(b"\x09" + b"validators/index"): varint(1) + dev_pub,
        }
        for h in (1, 2):
            self.other[set_key(h)] = self.set_record()

    def set_record(self):
        # one validator with power 1000: stepped, its priority goes to 1000
        # and back to 0 as the proposer (docs/consensus.md §4)
        return u32(0) + varint(1) + self.dev_pub + u64(1000) + struct.pack("<q", 0)

    @staticmethod
    def account_value(balance, nonce):
        return u64(balance) + u64(nonce) + bytes(32)

    def root(self):
        values = dict(self.other)
        for addr, (balance, nonce) in self.accounts.items():
            if balance or nonce:
                values[H(b"\x01" + addr)] = self.account_value(balance, nonce)
        return smt_root(sorted((k, H(v)) for k, v in values.items()))

    def apply_block(self, header, txs, commit):
        h = header["height"]
        proposer = address_of(header["proposer"])
        for raw in txs:
            tx = decode_tx(Reader(raw))
            assert tx["kind"] == KIND_TRANSFER, f"block {h} holds a kind {tx['kind']} this replay does not know"
            to, amount = tx["payload"][:20], struct.unpack("<Q", tx["payload"][20:])[0]
            sender = self.accounts.setdefault(address_of(tx["sender"]), [0, 0])
            fw.assert_eq(tx["nonce"], sender[1], f"nonce of a transfer in block {h}")
            assert sender[0] >= tx["fee"] + amount
            sender[0] -= tx["fee"]
            sender[1] += 1
            self.accounts.setdefault(proposer, [0, 0])[0] += tx["fee"]
            sender[0] -= amount
            self.accounts.setdefault(to, [0, 0])[0] += amount
        if h >= 2:
            assert [v for v, _ in commit["sigs"]] == [self.dev_pub], f"block {h}: the validator missed a commit"
        self.other[set_key(h + 2)] = self.set_record()
        if h >= self.EVIDENCE_MAX_AGE:
            self.other.pop(set_key(h - self.EVIDENCE_MAX_AGE), None)


# ---- the test ----

def header_at(node, height):
    """A block the client trusts: raw bytes, its header hashed here and the
    hash checked against the node's chain of block hashes."""
    raw = bytes.fromhex(node.rpc("getblock", height, 0))
    header, txs, commit = decode_block(raw)
    bhash = H_tag("assay/block", header["raw"])
    fw.assert_eq(bhash.hex(), node.rpc("getblockhash", height), f"block hash at {height}")
    fw.assert_eq(header["height"], height, "height")
    return header, txs, commit, bhash


def documented_vectors():
    """The known values of the dev network that protocol.md §7 lists."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "protocol.md")
    with open(path) as f:
        text = f.read()
    text = text[text.index("Known values of the dev network"):]
    rows = re.findall(r"^\| (.+?) \| `([0-9a-z]+)` \|$", text[:text.index("\n\n", text.index("| ---"))], re.M)
    return dict(rows)


def check_block(node, height, state, chain_id, dev_pub, parent):
    """Every header field of block `height` recomputed from the docs; returns
    (header, txs, hash)."""
    header, txs, commit, bhash = header_at(node, height)
    verbose = node.rpc("getblock", height, 1)
    fw.assert_eq(verbose["hash"], bhash.hex(), "block hash")
    fw.assert_eq((header["version"], header["chain_id"]), (1, chain_id), "version and chain_id")
    fw.assert_eq(header["time_ms"], verbose["time_ms"], "time_ms")
    for name in ("prev_hash", "tx_root", "state_root", "last_commit_hash", "validators_hash", "proposer",
                 "beacon", "beacon_proof"):
        fw.assert_eq(header[name].hex(), verbose[name], name)
    fw.assert_eq(verbose["txs"], [txid_of(t).hex() for t in txs], "txids of the block")
    assert header["time_ms"] > parent["header"]["time_ms"], "time_ms does not increase"
    fw.assert_eq(header["prev_hash"], parent["hash"], "prev_hash")
    fw.assert_eq(merkle_root(txs), header["tx_root"], "tx_root recomputed")
    fw.assert_eq(H_tag("assay/commit", commit["raw"]), header["last_commit_hash"], "last_commit_hash")
    if height == 1:
        fw.assert_eq(commit["raw"], bytes(8 + 4 + 32 + 1), "block 1's empty commit")
    else:
        fw.assert_eq((commit["height"], commit["block_hash"]), (height - 1, parent["hash"]), "last_commit's block")
        # the dev validator's precommit (§4.3), verified by the rules of §2
        vote = H_tag("assay/vote", chain_id + u8(2) + u64(commit["height"]) + u32(commit["round"]) + commit["block_hash"])
        fw.assert_eq([v for v, _ in commit["sigs"]], [dev_pub], "last_commit's signers")
        assert ed25519_verify(dev_pub, vote, commit["sigs"][0][1]), f"block {height}: a precommit does not verify"
    fw.assert_eq(header["validators_hash"], H_tag("assay/validators", varint(1) + dev_pub + u64(1000)),
                 "validators_hash")
    fw.assert_eq(header["proposer"], dev_pub, "proposer")
    alpha = chain_id + u64(height) + parent["header"]["beacon"]
    vrf_out = vrf_verify(header["proposer"], alpha, header["beacon_proof"])
    assert vrf_out is not None, f"block {height}: the beacon proof does not verify"
    fw.assert_eq(header["beacon"], H_tag("assay/beacon", parent["header"]["beacon"] + vrf_out), "beacon")
    for t in txs:
        tx = decode_tx(Reader(t))
        fw.assert_eq(tx["chain_id"], chain_id, "a transaction's chain_id")
        assert ed25519_verify(tx["sender"], tx_sighash(t[:-64]), tx["sig"]), "a transaction's signature"
    state.apply_block(header, txs, commit)
    fw.assert_eq(state.root().hex(), header["state_root"].hex(), f"state_root after block {height}, replayed")
    return {"header": header, "txs": txs, "hash": bhash}


def main(tmpdir, nodes):
    dev_pub = fw.ed25519_public_key(DEV_SEED)
    worker_pub = fw.ed25519_public_key(DEV_WORKER_SEED)
    dev_text = address_text(address_of(dev_pub))
    chain_id = dev_chain_id(dev_pub, worker_pub)

    # 1. addresses (§2), and the known values of §7, before any node runs
    state = DevState(dev_pub, worker_pub)
    vec = documented_vectors()
    computed = {
        'dev key seed, `SHA256("assay/dev-key/0")`': DEV_SEED.hex(),
        "dev key (public)": dev_pub.hex(),
        "dev worker key (public)": worker_pub.hex(),
        "chain id (`genesis_hash`)": chain_id.hex(),
        "genesis `state_root`": state.root().hex(),
        "genesis `beacon` (`beacon_0`)": H_tag("assay/beacon", chain_id).hex(),
        "`validators_hash` (one validator, power 1000)": H_tag("assay/validators", varint(1) + dev_pub + u64(1000)).hex(),
    }
    for name, value in computed.items():
        fw.assert_eq(vec.get(name), value, f"protocol.md §7's {name}")
    addrs = re.findall(r"^\| its address \| `(\w+)` \|$", open(os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "docs", "protocol.md")).read(), re.M)
    fw.assert_eq(addrs, [dev_text, address_text(address_of(worker_pub))], "protocol.md §7's addresses")
    fw.assert_eq(len(dev_text), 45, "dev address length")
    fw.assert_eq(address_decode(dev_text.upper()), ("dassay", address_of(dev_pub)), "upper-case decode")

    seeds = [H(b"protocol_outsider receiver %d" % i) for i in range(5)]
    receivers = [address_of(fw.ed25519_public_key(s)) for s in seeds]
    recv_addr, recv_text = receivers[0], address_text(receivers[0])

    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"])
    nodes.append(node)
    node.start()

    va = node.rpc("validateaddress", recv_text)
    fw.assert_eq((va["isvalid"], va["hex"], va["network"]), (True, recv_addr.hex(), "dev"), "validateaddress")
    fw.assert_eq(node.rpc("getblockchaininfo")["genesis_hash"], chain_id.hex(), "chain id from the genesis")

    # the genesis block (§7)
    g_header, g_txs, g_commit, g_hash = header_at(node, 0)
    fw.assert_eq(g_hash.hex(), vec.get("genesis block hash (`getblockhash 0`)"), "protocol.md §7's genesis block hash")
    fw.assert_eq((g_header["version"], g_header["chain_id"], g_header["time_ms"], g_header["prev_hash"],
                  g_header["proposer"], g_header["beacon_proof"], g_txs, g_commit["raw"]),
                 (1, chain_id, 1764547200000, bytes(32), bytes(32), bytes(80), [], bytes(45)), "genesis header")
    fw.assert_eq(g_header["tx_root"], merkle_root([]), "genesis tx_root")
    fw.assert_eq(g_header["state_root"], state.root(), "genesis state_root")
    fw.assert_eq(g_header["beacon"], H_tag("assay/beacon", chain_id), "beacon_0")
    fw.assert_eq(g_header["last_commit_hash"], H_tag("assay/commit", g_commit["raw"]), "genesis last_commit_hash")
    node.wait_for_height(2)  # the transfers go after block 1's empty commit

    # 2. five signed transfers (§3) from the dev key, the first to recv_addr,
    # which then sends one of its own
    nonce = node.rpc("getaccount", dev_text)["pending_nonce"]
    amounts = [1_234_567_890 + i for i in range(len(receivers))]
    # min_fee + gas_limit × gas_price (§5.1, §8); no receiver has an account
    # yet, and a transfer that creates one takes 11,264 gas (§5.2)
    fee, gas_limit = 1000 + 11264, 11264
    signed = []
    for i, (to, amount) in enumerate(zip(receivers, amounts)):
        unsigned = tx_unsigned(chain_id, nonce + i, dev_pub, fee, gas_limit, KIND_TRANSFER, to + u64(amount))
        fw.assert_eq(len(unsigned), 32 + 8 + 32 + 8 + 8 + 1 + 1 + 20 + 8, "unsigned transfer length")
        signed.append(unsigned + fw.ed25519_sign(DEV_SEED, tx_sighash(unsigned)))
    txids = [txid_of(t) for t in signed]
    full, txid = signed[0], txids[0]

    dec = node.rpc("decoderawtransaction", full.hex())
    fw.assert_eq((dec["txid"], dec["kind"], dec["sender"], dec["sender_pubkey"], dec["nonce"], dec["fee"],
                  dec["gas_limit"], dec["payload"], dec["size"], dec["signature_valid"]),
                 (txid.hex(), "transfer", dev_text, dev_pub.hex(), nonce, fee, gas_limit,
                  {"to": recv_text, "amount": amounts[0]}, 182, True), "decoderawtransaction")

    # 3. the node names each by the txid computed here
    fw.assert_eq(node.rpc("sendrawtransaction", full.hex()), txid.hex(), "sendrawtransaction's txid")
    fw.assert_eq(node.rpc("sendrawtransactions", [t.hex() for t in signed[1:]]),
                 [{"txid": t.hex()} for t in txids[1:]], "sendrawtransactions' txids")

    # 4. wait for them in blocks
    deadline = time.time() + 20
    while True:
        got = [node.rpc("gettransaction", t.hex()) for t in txids]
        if all(g["status"] == "committed" for g in got):
            break
        assert time.time() < deadline, f"transfers not committed in 20 s: {[g['status'] for g in got]}"
        time.sleep(0.1)
    assert all(g["result"]["ok"] and g["result"]["gas_used"] == gas_limit for g in got), got

    # the funded key's own first transaction (nonce 0), fee to the proposer
    # to an account that is there now: no gas
    back_amount, back_fee = 10**6, 1000
    unsigned = tx_unsigned(chain_id, 0, fw.ed25519_public_key(seeds[0]), back_fee, 0, KIND_TRANSFER,
                           receivers[1] + u64(back_amount))
    back = unsigned + fw.ed25519_sign(seeds[0], tx_sighash(unsigned))
    fw.assert_eq(node.rpc("sendrawtransaction", back.hex()), txid_of(back).hex(), "the receiver's txid")
    deadline = time.time() + 20
    while (g := node.rpc("gettransaction", txid_of(back).hex()))["status"] != "committed":
        assert time.time() < deadline, "the receiver's transfer not committed in 20 s"
        time.sleep(0.1)
    assert g["result"]["ok"], g
    signed.append(back)
    got.append(g)
    fw.assert_eq(g["result"]["gas_used"], 0, "gas used by a transfer to an existing account")
    amounts[0] -= back_amount + back_fee
    amounts[1] += back_amount
    last = g["height"]

    # every block from 1 to the last holding a transfer: header, tx_root,
    # commit, beacon, and the state root of a replay from the genesis
    parent = {"header": g_header, "txs": [], "hash": g_hash}
    blocks = {}
    for h in range(1, last + 1):
        parent = blocks[h] = check_block(node, h, state, chain_id, dev_pub, parent)
    for t, g in zip(signed, got):
        fw.assert_eq(blocks[g["height"]]["txs"].index(t), g["index"], "a transfer's place in its block")
    fw.assert_eq(node.rpc("getblockheader", got[0]["height"], False), blocks[got[0]["height"]]["header"]["raw"].hex(),
                 "getblockheader false")

    # the receivers' balances
    for i, (to, amount) in enumerate(zip(receivers, amounts)):
        acct = node.rpc("getaccount", address_text(to))
        fw.assert_eq((acct["balance"], acct["nonce"]), (amount, 1 if i == 0 else 0), "a receiver's account")

    # 5. the receiver's account proof, against a header hashed here
    node.wait_for_height(last + 1)
    p = node.rpc("getproof", recv_text)
    while parent["header"]["height"] < p["height"]:  # the proof is of the tip: replay up to it
        parent = check_block(node, parent["header"]["height"] + 1, state, chain_id, dev_pub, parent)
    trusted = parent["header"]
    fw.assert_eq(trusted["height"], p["height"], "the proof's height")
    key = H(b"\x01" + recv_addr)
    depth, siblings, leaf = check_proof_json(p, key)
    fw.assert_eq(p["state_root"], trusted["state_root"].hex(), "the proof's state_root")
    value = bytes.fromhex(p["value"])
    fw.assert_eq(value, DevState.account_value(amounts[0], 1), "account value")
    assert p["included"] and smt_verify(key, H(value), depth, siblings, leaf, trusted["state_root"]), \
        "the receiver's inclusion proof does not verify"
    assert not smt_verify(key, H(DevState.account_value(amounts[0] + 1, 1)), depth, siblings, leaf,
                          trusted["state_root"]), "a proof verifies a wrong balance"

    # an absent account's exclusion proof
    absent = address_of(H(b"protocol_outsider: nobody"))
    p = node.rpc("getproof", address_text(absent))
    key = H(b"\x01" + absent)
    depth, siblings, leaf = check_proof_json(p, key)
    trusted, _, _, _ = header_at(node, p["height"])
    assert not p["included"] and p["value"] is None
    assert smt_verify(key, None, depth, siblings, leaf, trusted["state_root"]), "exclusion proof does not verify"

    sizes = sorted({len(blocks[g["height"]]["txs"]) for g in got})
    print(f"ok: 6 transfers in blocks of {sizes} transactions; {parent['header']['height']} blocks and their "
          "state roots recomputed")


if __name__ == "__main__":
    fw.run(main)
