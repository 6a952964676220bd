"""Inbound eviction (docs/p2p.md §8): silent connections from one address
(127.0.0.2, connecting again as soon as one is closed, never sending a
byte) keep every inbound slot of A taken. An honest follower B from another
net group (127.0.0.1) must still get in within seconds, because a full node
evicts the youngest connection of its most represented group instead of
refusing the newcomer, and B must then stay connected and in sync while the
flood goes on past the handshake timeout that closes the silent ones."""

import selectors
import socket
import threading
import time

import framework as fw

MAX_CONNECTIONS = 12  # inbound slots: 12 - 8 (NET_OUTBOUND_TARGET) = 4
CONNECT_WITHIN_S = 10
HANDSHAKE_TIMEOUT_S = 10  # NET_HANDSHAKE_TIMEOUT_MS


class SilentFlood:
    """Keeps opening TCP connections to the node from one address and holds
    every one it accepts, sending nothing."""

    def __init__(self, port, ip="127.0.0.2", most=40, per_s=200):
        self.port, self.ip, self.most, self.pause = port, ip, most, 1.0 / per_s
        self.stop = threading.Event()
        self.attempts = 0
        self.closed_by_node = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        sel = selectors.DefaultSelector()
        open_socks = 0
        while not self.stop.is_set():
            if open_socks < self.most:
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=2,
                                                 source_address=(self.ip, 0))
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ)
                    open_socks += 1
                    self.attempts += 1
                except OSError:
                    pass
            for key, _ in sel.select(timeout=self.pause):
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:  # the node closed it: refused, evicted or timed out
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    open_socks -= 1
                    self.closed_by_node += 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()


def ready_inbound_from(node, ip):
    return [p for p in node.rpc("getpeerinfo")
            if p["inbound"] and p["addr"].rsplit(":", 1)[0] == ip and p["user_agent"]]


def test(tmpdir, nodes):
    a = fw.Node(0, tmpdir, extra_args=["-blocktime=300", f"-maxconnections={MAX_CONNECTIONS}"]).start()
    nodes.append(a)
    a.wait_for_height(2)
    flood = SilentFlood(a.port)
    flood.thread.start()
    try:
        fw.wait_until(lambda: sum(1 for p in a.rpc("getpeerinfo") if p["inbound"]) >= MAX_CONNECTIONS - 8,
                      10, "the silent connections to fill A's inbound slots")
        b = fw.Node(1, tmpdir, extra_args=["-novalidator", f"-connect={fw.p2p_addr(a)}"])
        b.start()
        nodes.append(b)
        start = time.time()  # B dials at start and again every 3 s
        fw.wait_until(lambda: ready_inbound_from(a, "127.0.0.1"), CONNECT_WITHIN_S,
                      f"the honest follower to be connected within {CONNECT_WITHIN_S}s")
        took = time.time() - start
        b_id = ready_inbound_from(a, "127.0.0.1")[0]["id"]
        # The flood goes on through a whole handshake timeout: B stays, and
        # follows A's chain.
        time.sleep(HANDSHAKE_TIMEOUT_S + 2)
        still = ready_inbound_from(a, "127.0.0.1")
        assert still and still[0]["id"] == b_id, f"B was evicted or dropped: {still}"
        fw.same_chain_at([a, b], a.height() + 2, timeout=20)
        log = open(a.log_path()).read()
        assert "evicted: inbound slots full" in log, "no eviction in A's log"
        assert flood.attempts > 20, f"the flood made only {flood.attempts} connections"
        print(f"follower connected after {took:.1f}s; flood: {flood.attempts} connections, "
              f"{flood.closed_by_node} closed by the node")
    finally:
        flood.stop.set()
        flood.thread.join()


if __name__ == "__main__":
    fw.run(test)
