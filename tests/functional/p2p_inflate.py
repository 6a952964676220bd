"""Memory bound under compressed input (docs/p2p.md §3): peers that
negotiated zstd send (1) a frame of a few hundred bytes that inflates to
8 MiB, and (2) a legitimate 4 MiB message (raw zstd blocks, no inflation).
The node must stop (1) at the inflation bound, score it (NET_FAULT_INFLATE)
and close; keep (2)'s peers connected but not their 4 MiB buffers; and its
resident memory (VmRSS) must stay under a ceiling far below what holding
every peer's buffers would cost."""

import struct
import time

import framework as fw
from p2p_bad_peer import RawPeer, banned_ips, frame

BOMB_PEERS = 30
BIG_PEERS = 15
WINDOW_LOG = 18                 # NET_ZSTD_WINDOW_LOG: a window the node accepts
BLOCK = 128 << 10               # zstd's largest block
RSS_CEILING_MIB = 80            # over the baseline, after both attacks


def zstd_frame_start(window_log=WINDOW_LOG):
    """Magic, then a header with no content size, no checksum and the
    window descriptor; a stream that is never ended (docs/p2p.md §3)."""
    return bytes([0x28, 0xB5, 0x2F, 0xFD, 0x00, (window_log - 10) << 3])


def rle_blocks(total, byte=0):
    """total bytes of one repeated byte: four bytes per 128 KiB block."""
    out = bytearray()
    while total:
        n = min(total, BLOCK)
        out += struct.pack("<I", (n << 3) | (1 << 1))[:3] + bytes([byte])  # type 1: RLE
        total -= n
    return bytes(out)


def raw_blocks(data):
    out = bytearray()
    for i in range(0, len(data), BLOCK):
        chunk = data[i:i + BLOCK]
        out += struct.pack("<I", len(chunk) << 3)[:3] + chunk  # type 0: raw
    return bytes(out)


def rss_mib(node):
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(a)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(3)
    base = rss_mib(a)

    # (1) bombs: 8 MiB from a few hundred bytes
    bomb = zstd_frame_start() + rle_blocks(8 << 20)
    assert len(bomb) < 300, len(bomb)
    bombers = []
    for i in range(BOMB_PEERS):
        p = RawPeer(a, 10 + i)
        p.handshake(chain_id, flags=1)
        p.send(frame("ping", bomb))
        bombers.append(p)
    # (2) big but honest-sized messages (4 MiB, no inflation): decoded and
    # scored as a malformed ping (50); the connection stays, its buffers
    # must not.
    big = zstd_frame_start() + raw_blocks(bytes(range(256)) * (16 << 10))
    stayers = []
    for i in range(BIG_PEERS):
        p = RawPeer(a, 100 + i)
        p.handshake(chain_id, flags=1)
        p.send(frame("ping", big))
        stayers.append(p)

    def handled():
        """Every message was dealt with: its peer scored, or gone."""
        peers = {p["addr"].rsplit(":", 1)[0]: p for p in a.rpc("getpeerinfo")}
        return all(peers.get(p.ip, {}).get("score", 50) >= 50 for p in bombers + stayers)

    fw.wait_until(handled, 30, "every message to be decoded and scored")
    time.sleep(0.5)
    grown = rss_mib(a) - base
    print(f"RSS: {base:.1f} MiB at start, +{grown:.1f} MiB after {BOMB_PEERS} bombs and "
          f"{BIG_PEERS} 4 MiB messages")
    assert grown < RSS_CEILING_MIB, (f"assayd grew by {grown:.1f} MiB (ceiling {RSS_CEILING_MIB}): "
                                     "buffers are held per peer")

    # The bombers were scored and closed, not banned; the others stay.
    for p in bombers:
        assert p.closed_by_node(), f"{p.ip}: the node kept a peer whose frame inflates 30000x"
        p.close()
    log = open(a.log_path()).read()
    assert "inflates over the ratio limit" in log, "no inflation fault in the log"
    bans = banned_ips(a)
    assert not any(p.ip in bans for p in bombers), "the inflation fault is 50 points, not a ban"
    peers = {p["addr"].rsplit(":", 1)[0]: p for p in a.rpc("getpeerinfo")}
    for p in stayers:
        fw.assert_eq(peers.get(p.ip, {}).get("score"), 50, f"{p.ip}: score after a 4 MiB ping")

    # The node still works: blocks go on, the peers that stayed still answer.
    h = a.height()
    a.wait_for_height(h + 2, timeout=20)
    for p in stayers:
        p.close()


if __name__ == "__main__":
    fw.run(test)
