"""Output chunks as bytes (docs/rpc.md "Output chunks as bytes"): POST /chunk
and GET /chunk/... on the RPC port against a real node, beside the JSON-RPC
methods they mirror. The bytes round-trip; a refused chunk gets the error
submitjobchunk gives; credentials are checked; 404, 400, 413, 415 come with
JSON error bodies and the node keeps serving after truncated, oversized or
garbage requests. assay-worker and `assay-cli job output` go through a
recording proxy in front of the node, which shows that they use the binary
routes, and, when it plays a node without them (the path rewritten to "/"
as an older node serves every POST as JSON-RPC, or a plain 404), that they
fall back to submitjobchunk and getjobchunk. Last, the curl examples of
docs/rpc.md's section run against the node."""

import base64
import copy
import hashlib
import http.client
import http.server
import json
import os
import re
import shlex
import socket
import threading

import framework as fw
from docs_examples import keys_match

UNIT = 10**9
COMPUTE = {"commit_window": 10, "reveal_window": 5, "dispute_window": 8, "min_bond": UNIT,
           "samples_k": 2, "upload_window": 10, "chunk_budget_bytes": 1 << 20, "salt_window": 3}
RPC_MAX_BODY = 8 << 20  # node/rpc.h
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")


def request(node, method, path, body=None, auth=True, content_type=None, cred=None):
    """(status, headers as a dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.rpcport, timeout=30)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode((cred or node.cookie()).encode()).decode()
    if content_type:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def chunk_head(node, length, auth=True):
    cred = "Authorization: Basic " + base64.b64encode(node.cookie().encode()).decode() + "\r\n" if auth else ""
    return (f"POST /chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n{cred}Content-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def head_only(node, length, auth=True):
    """The HTTP status the node answers a POST /chunk head announcing
    length bytes with, before any of them is sent."""
    with socket.create_connection(("127.0.0.1", node.rpcport), timeout=30) as s:
        s.sendall(chunk_head(node, length, auth))
        reply = b""
        while b"\r\n" not in reply:
            got = s.recv(4096)
            if not got:
                break
            reply += got
    m = re.match(rb"HTTP/1\.[01] (\d+)", reply)
    assert m, f"no HTTP status: {reply[:200]!r}"
    return int(m.group(1))


def post_chunk(node, data, **kw):
    kw.setdefault("content_type", "application/octet-stream")
    return request(node, "POST", "/chunk", data, **kw)


def json_error(status, headers, body, want_status):
    fw.assert_eq(status, want_status, f"HTTP status ({body[:200]!r})")
    fw.assert_eq(headers.get("content-type"), "application/json", "error body type")
    return json.loads(body)["error"]


def rpc_error(node, method, *params):
    try:
        node.rpc(method, *params)
    except fw.RPCError as e:
        return {"code": e.code, "message": e.message}
    raise AssertionError(f"{method} succeeded")


class Proxy:
    """A recording HTTP proxy for the node's RPC port. mode "binary": passes
    everything; "old": rewrites /chunk... to / (a node without the routes);
    "404": answers /chunk... itself with a plain 404 (a server without them).
    seen: (method, path, JSON-RPC method or None, status) of each request."""

    def __init__(self, node, port):
        self.mode = "binary"
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path, rpc_method = self.path, None
                if body and self.headers.get("Content-Type") == "application/json":
                    try:
                        rpc_method = json.loads(body).get("method")
                    except ValueError:
                        pass
                chunk_route = path.startswith("/chunk")
                if chunk_route and proxy.mode == "404":
                    status, headers, data = 404, [("Content-Type", "text/html")], b"<h1>Not Found</h1>"
                else:
                    if chunk_route and proxy.mode == "old":
                        path = "/"
                    conn = http.client.HTTPConnection("127.0.0.1", node.rpcport, timeout=60)
                    fwd = {k: v for k, v in self.headers.items() if k.lower() in
                           ("authorization", "content-type")}
                    conn.request(self.command, path, body=body, headers=fwd)
                    resp = conn.getresponse()
                    status, data = resp.status, resp.read()
                    headers = [(k, v) for k, v in resp.getheaders()
                               if k.lower() not in ("content-length", "connection", "transfer-encoding")]
                    conn.close()
                proxy.seen.append((self.command, self.path, rpc_method, status))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.view = copy.copy(node)  # the node as reached through the proxy
        self.view.rpcport = port

    def take(self):
        seen, self.seen = self.seen, []
        return seen

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# 512 x 768 int32 = 1.5 MiB in 32x32 tiles of 4 KiB: two chunks (a chunk
# holds at most 1 MiB of tiles).
M, N, TILE = 512, 768, 32
TILES = (M // TILE) * (N // TILE)


def submit_job(cli_node, seed):
    res = cli_node.cli("job", "submit", "--from", "alice", "--kind", "matmul-i8", "--m", str(M), "--n", str(N),
                       "--k", "64", "--tile-rows", str(TILE), "--tile-cols", str(TILE), "--samples", "2",
                       "--seed", seed * 32, "--reward", "1", "--wait")
    job_id = res.stdout.split()[0]
    fw.assert_eq(cli_node.rpc("getjob", job_id)["slots"][0]["uploaded_tiles"], TILES, "every tile uploaded")
    return job_id


def job_output(cli_node, tmpdir, job_id, name):
    path = os.path.join(tmpdir, name)
    res = cli_node.cli("job", "output", job_id, "-o", path)
    assert "from the chain (output chunks)" in res.stdout, res.stdout
    with open(path, "rb") as f:
        data = f.read()
    fw.assert_eq(len(data), M * N * 4, "whole output")
    assert hashlib.sha256(data).hexdigest() in res.stdout, res.stdout
    return data


def test(tmpdir, nodes):
    node, _ = fw.local_compute_chain(tmpdir, nodes, ["alice", "w0"], COMPUTE)
    proxy = Proxy(node, fw.unused_port(5))
    try:
        run(tmpdir, nodes, node, proxy)
    finally:
        proxy.close()


def run(tmpdir, nodes, node, proxy):
    worker = fw.Worker(proxy.view, "w0", 0, ["-bond=100"])
    nodes.append(worker.start())

    # -- the worker uploads with POST /chunk, the CLI fetches with GET --
    proxy.take()
    job_id = submit_job(node, "33")
    seen = proxy.take()
    posts = [s for s in seen if s[:2] == ("POST", "/chunk")]
    assert posts and all(s[3] == 200 for s in posts), seen
    assert not [s for s in seen if s[2] == "submitjobchunk"], "the worker used hex JSON-RPC"
    produced = job_output(proxy.view, tmpdir, job_id, "out.bin")
    seen = proxy.take()
    gets = [s for s in seen if s[0] == "GET" and s[1].startswith(f"/chunk/{job_id}/0/")]
    assert gets and all(s[3] == 200 for s in gets), seen
    assert not [s for s in seen if s[2] == "getjobchunk"], "the CLI used hex JSON-RPC"

    # -- the bytes: GET gives what getjobchunk gives as hex, both forms --
    chunks, first = [], 0
    while first < TILES:
        j = node.rpc("getjobchunk", job_id, 0, first)
        status, headers, body = request(node, "GET", f"/chunk/{job_id}/0/{first}")
        fw.assert_eq(status, 200, "GET a held chunk")
        fw.assert_eq(body, bytes.fromhex(j["chunk"]), f"the chunk at tile {first}, as bytes")
        fw.assert_eq(headers["content-type"], "application/octet-stream", "chunk body type")
        fw.assert_eq(int(headers["content-length"]), len(body), "Content-Length")
        assert "x-assay-chunk-hash" not in headers, "the job form does not hash"
        for name in ("first_tile", "tile_count", "next_tile", "tiles", "uploaded_tiles"):
            fw.assert_eq(int(headers["x-assay-" + name.replace("_", "-")]), j[name], name)
        status, headers, by_hash = request(node, "GET", f"/chunk/{j['hash']}")
        fw.assert_eq((status, by_hash), (200, body), "GET /chunk/HASH")
        fw.assert_eq(headers["x-assay-chunk-hash"], j["hash"], "X-Assay-Chunk-Hash")
        for name in ("first_tile", "tile_count", "next_tile"):
            fw.assert_eq(int(headers["x-assay-" + name.replace("_", "-")]), j[name], f"{name} by hash")
        chunks.append((j, body))
        first = j["next_tile"]
    assert len(chunks) > 1, "the test wants several chunks"
    whole = b"".join(b for _, b in chunks)
    assert len(whole) > M * N * 4, "chunks hold the output and their proofs"

    # -- POST: the same result as submitjobchunk, for a chunk held already --
    j0, c0 = chunks[0]
    status, headers, body = post_chunk(node, c0)
    fw.assert_eq((status, headers.get("content-type")), (200, "application/json"), f"POST a chunk: {body!r}")
    fw.assert_eq(json.loads(body), {"result": node.rpc("submitjobchunk", c0.hex())}, "POST reply")
    fw.assert_eq(json.loads(body)["result"]["hash"], j0["hash"], "the chunk's hash")

    # -- refused chunks: the error submitjobchunk gives, as 400 --
    flipped = bytearray(c0)
    flipped[200] ^= 1  # inside the tile data: the proof no longer holds
    for bad, what in ((bytes(flipped), "a flipped data byte"), (c0[:100], "a truncated chunk"),
                      (b"\x00", "one byte"), (b"", "an empty body")):
        err = json_error(*post_chunk(node, bad), 400)
        fw.assert_eq(err, rpc_error(node, "submitjobchunk", bad.hex()), f"{what}: the same error as submitjobchunk")
        fw.assert_eq(err["code"], -26, what)
        assert err["message"].startswith("chunk refused: "), err

    # -- credentials, as for JSON-RPC --
    for method, path, data in (("GET", f"/chunk/{job_id}/0/0", None), ("POST", "/chunk", c0[:1000])):
        for cred in (None, "__cookie__:" + "0" * 64):
            status, _, _ = request(node, method, path, data, auth=cred is not None, cred=cred,
                                   content_type="application/octet-stream" if data else None)
            fw.assert_eq(status, 401, f"{method} {path} with {'wrong' if cred else 'no'} credentials")
    # a whole chunk without credentials: refused from the head, body not read
    fw.assert_eq(head_only(node, len(c0), auth=False), 401, "a chunk-sized body without credentials")

    # -- not held, bad paths --
    err = json_error(*request(node, "GET", "/chunk/" + "ab" * 32), 404)
    fw.assert_eq(err["code"], -5, "unknown hash")
    err = json_error(*request(node, "GET", f"/chunk/{job_id}/0/1"), 404)
    fw.assert_eq(err, rpc_error(node, "getjobchunk", job_id, 0, 1), "no chunk starts at tile 1: as getjobchunk")
    err = json_error(*request(node, "GET", f"/chunk/{'cd' * 32}/0/0"), 404)
    fw.assert_eq(err, rpc_error(node, "getjobchunk", "cd" * 32, 0, 0), "unknown job: as getjobchunk")
    err = json_error(*request(node, "GET", f"/chunk/{job_id}/9/0"), 400)
    fw.assert_eq(err, rpc_error(node, "getjobchunk", job_id, 9, 0), "slot out of range: as getjobchunk")
    for path in ("/chunk", "/chunk/", "/chunk/xyz", "/chunk/" + "ab" * 31, f"/chunk/{job_id}/0",
                 f"/chunk/{job_id}/0/0/0", f"/chunk/{job_id}/-1/0", f"/chunk/{job_id}/0/99999999999",
                 "/chunk/" + "ab" * 32 + "?x=1%00"):
        status, headers, body = request(node, "GET", path)
        assert status in (400, 404), (path, status, body)
        json_error(status, headers, body, status)

    # -- the size limit: AVAIL_CHUNK_MAX_ENCODED, read from the 413 itself --
    err = json_error(*post_chunk(node, b"\x00" * (2 << 20)), 413)
    m = re.search(r"at most (\d+) bytes \(AVAIL_CHUNK_MAX_ENCODED\)", err["message"])
    assert m and err["code"] == -32602, err
    limit = int(m.group(1))
    assert (1 << 20) < limit < (1 << 20) + 8192, limit
    json_error(*post_chunk(node, b"\x00" * (limit + 1)), 413)
    fw.assert_eq(json_error(*post_chunk(node, b"\x00" * limit), 400)["code"], -26, "a body of the limit is read")
    fw.assert_eq(head_only(node, RPC_MAX_BODY + 1), 413, "over RPC_MAX_BODY: the server's own 413, body not read")

    # -- wrong type, wrong method, a body cut short: answered, node fine --
    err = json_error(*post_chunk(node, c0, content_type="application/json"), 415)
    fw.assert_eq(err["code"], -32600, "wrong Content-Type")
    json_error(*post_chunk(node, c0, content_type=None), 415)
    fw.assert_eq(request(node, "PUT", "/chunk", c0, content_type="application/octet-stream")[0], 501,
                 "PUT: evhttp's 501")
    status, _, _ = request(node, "POST", f"/chunk/{job_id}/0/0", c0, content_type="application/octet-stream")
    fw.assert_eq(status, 405, "POST to a chunk's address")
    with socket.create_connection(("127.0.0.1", node.rpcport)) as s:
        s.sendall(chunk_head(node, len(c0)) + c0[:5000])
    status, _, body = request(node, "GET", f"/chunk/{job_id}/0/0")
    fw.assert_eq((status, body), (200, c0), "served after a truncated upload")
    node.rpc("getblockcount")
    # only /chunk and what is under it is the route: other paths stay JSON-RPC
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}).encode()
    for path in ("/", "/chunky", "/chunks/x"):
        status, data = node.raw_request(body, path=path)
        assert status == 200 and isinstance(json.loads(data)["result"], int), (path, data)

    # -- fallback: a node without the routes (older), then a server that 404s them --
    for mode, fetch_seen in (("old", ("GET", 405)), ("404", ("GET", 404))):
        proxy.mode = mode
        proxy.take()
        got = job_output(proxy.view, tmpdir, job_id, f"out-{mode}.bin")
        fw.assert_eq(got, produced, f"the output through a {mode} node")
        seen = proxy.take()
        chunk_gets = [s for s in seen if s[1].startswith("/chunk/")]
        fw.assert_eq([(s[0], s[3]) for s in chunk_gets], [fetch_seen], f"{mode}: one try of the route, then JSON")
        assert [s for s in seen if s[2] == "getjobchunk"], seen
    proxy.mode = "old"
    proxy.take()
    job2 = submit_job(node, "34")
    seen = proxy.take()
    tried = [s for s in seen if s[1] == "/chunk"]
    fw.assert_eq(len(tried), 1, f"the worker tried the route once, then stayed on JSON-RPC: {tried}")
    fw.assert_eq(tried[0][3], 200, "an older node answers the raw POST with a JSON-RPC parse error")
    assert [s for s in seen if s[2] == "submitjobchunk"], seen
    proxy.mode = "binary"
    job_output(proxy.view, tmpdir, job2, "out2.bin")

    # -- docs/rpc.md's curl examples --
    run_doc_examples(node, tmpdir, job_id, chunks[0][1])
    fw.assert_eq(worker.stop(), 0, "worker exits cleanly")
    fw.assert_eq(node.stop(), 0, "the node exits cleanly after all of it (a leak fails a sanitizer build here)")


def doc_examples():
    """The `$ curl` lines of docs/rpc.md's blocks marked <!-- http example
    ... -->, each with the reply shown."""
    with open(os.path.join(DOCS, "rpc.md")) as f:
        lines = f.read().split("\n")
    out = []
    for i, line in enumerate(lines):
        if not line.startswith("<!-- http example"):
            continue
        assert lines[i + 1].startswith("```"), f"rpc.md:{i + 2}: a fenced block after the marker"
        j = i + 2
        cmd = ""
        while lines[j].endswith("\\"):
            cmd += lines[j][:-1] + " "
            j += 1
        cmd += lines[j]
        shown = []
        j += 1
        while not lines[j].startswith("```"):
            shown.append(lines[j])
            j += 1
        assert cmd.startswith("$ curl "), f"rpc.md:{i + 3}: expected a $ curl line"
        out.append((i + 1, cmd[len("$ curl "):], "\n".join(shown)))
    return out


def run_doc_examples(node, tmpdir, job_id, chunk):
    """Replays each example's curl arguments with http.client: credentials
    from the node's cookie, its port, the test's job id and chunk file;
    checks the status and header names shown, and the JSON keys shown."""
    examples = doc_examples()
    assert len(examples) >= 3, "rpc.md's chunk routes have examples"
    chunk_file = os.path.join(tmpdir, "chunk.bin")
    for line, args, shown in examples:
        words = shlex.split(args.replace('"$(cat ~/.assay/.cookie)"', "COOKIE"))
        method, body, ctype, url = "GET", None, None, None
        i = 0
        while i < len(words):
            w = words[i]
            if w in ("-s",):
                pass
            elif w in ("-u", "-H", "--data-binary", "-o", "-D"):
                i += 1
                v = words[i]
                if w == "-H":
                    name, _, value = v.partition(":")
                    assert name.lower() == "content-type", f"rpc.md:{line}: header {name}"
                    ctype = value.strip()
                elif w == "--data-binary":
                    assert v == "@chunk.bin", f"rpc.md:{line}: {v}"
                    with open(chunk_file, "wb") as f:
                        f.write(chunk)
                    method, body = "POST", chunk
                elif w == "-u":
                    assert v == "COOKIE", f"rpc.md:{line}: credentials from the cookie"
            else:
                assert url is None and w.startswith("http://127.0.0.1:"), f"rpc.md:{line}: {w}"
                url = w
            i += 1
        path = "/" + url.split("/", 3)[3]
        path = re.sub(r"\b[0-9a-f]{64}\b", job_id, path)
        status, headers, reply = request(node, method, path, body, content_type=ctype)
        m = re.match(r"HTTP/1\.1 (\d+)", shown)
        if m:
            fw.assert_eq(status, int(m.group(1)), f"rpc.md:{line}: status")
            for h in re.findall(r"^([A-Za-z-]+): ", shown, re.M):
                assert h.lower() in headers, f"rpc.md:{line}: header {h} not in {sorted(headers)}"
            fw.assert_eq(reply, chunk, f"rpc.md:{line}: the chunk's bytes")
        else:
            want = json.loads(shown)
            got = json.loads(reply)
            keys_match(want, got, set(), f"rpc.md:{line}")
            if "error" in want:
                fw.assert_eq(got["error"]["code"], want["error"]["code"], f"rpc.md:{line}: error code")
                fw.assert_eq(status, 404, f"rpc.md:{line}: status")
            else:
                fw.assert_eq(status, 200, f"rpc.md:{line}: status")


if __name__ == "__main__":
    fw.run(test)
