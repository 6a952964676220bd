"""Tx relay under an announcement flood (docs/p2p.md §6): nine connections
from one address (127.0.0.2) each announce 1,000 fresh random txids every
half second and never deliver one. The tx request table must keep room for
everyone else, so a real transfer sent to the follower B is relayed to the
producer A (B's connection is from 127.0.0.1, another net group) and mined
within seconds while the flood goes on."""

import os
import selectors
import threading
import time

import framework as fw
from p2p_bad_peer import RawPeer, frame, inv

FLOODERS = 9
PER_INV = 1000
EVERY_S = 0.5
MINED_WITHIN_S = 15


class Flood:
    def __init__(self, peers):
        self.peers = peers
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        sel = selectors.DefaultSelector()
        for p in self.peers:
            p.sock.setblocking(False)
            sel.register(p.sock, selectors.EVENT_READ)
        next_round = 0.0
        while not self.stop.is_set():
            now = time.time()
            if now >= next_round:
                for p in self.peers:
                    msg = frame("inv", inv([(1, os.urandom(32)) for _ in range(PER_INV)]))
                    try:
                        p.sock.settimeout(5)  # the node reads us: never blocks long
                        p.sock.sendall(msg)
                        p.sock.setblocking(False)
                        self.sent += PER_INV
                    except OSError:
                        pass
                next_round = now + EVERY_S
            # read and drop what the node sends (getdata), so that it keeps
            # reading us
            for key, _ in sel.select(timeout=0.05):
                try:
                    key.fileobj.recv(1 << 20)
                except (BlockingIOError, OSError):
                    pass


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=300"]).start()
    nodes.append(a)
    b = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"]).start()
    nodes.append(b)
    chain_id = bytes.fromhex(a.rpc("getblockchaininfo")["genesis_hash"])
    a.wait_for_height(3)
    fw.same_chain_at([a, b], 3, timeout=20)
    b.cli("wallet", "import-dev")
    b.cli("wallet", "create", "bob")
    bob = b.cli("wallet", "address", "bob").stdout.strip()

    peers = []
    for _ in range(FLOODERS):
        p = RawPeer(a, 2)
        p.handshake(chain_id)
        peers.append(p)
    flood = Flood(peers)
    flood.thread.start()
    try:
        time.sleep(4)  # the flood is at its height: every request it can get is in flight
        start = time.time()
        txid = b.cli("send", "--from", "dev", "--to", bob, "--amount", "1").stdout.split()[0]

        def mined():
            try:
                return a.rpc("gettransaction", txid)["status"] == "committed"
            except fw.RPCError:
                return False

        fw.wait_until(mined, MINED_WITHIN_S,
                      f"the follower's transfer to be mined by A within {MINED_WITHIN_S}s of the flood")
        took = time.time() - start
        assert flood.sent >= 4 * FLOODERS * PER_INV, f"the flood sent only {flood.sent} announcements"
        # The flooders are still connected: announcing is legal, and they
        # were bounded, not banned.
        alive = [p for p in a.rpc("getpeerinfo") if p["addr"].startswith("127.0.0.2:")]
        fw.assert_eq(len(alive), FLOODERS, "flooding peers still connected")
        print(f"mined {took:.1f}s after sending, under a flood of {flood.sent} announcements")
    finally:
        flood.stop.set()
        flood.thread.join()
        for p in peers:
            p.close()


if __name__ == "__main__":
    fw.run(test)
