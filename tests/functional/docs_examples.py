"""Runs the examples of docs/rpc.md against a dev node (the marker
convention is rpc.md's "Examples are tests"): every block marked
<!-- example --> has its `$ assay-cli ARGS` lines run through assay-cli; each
must succeed (or fail with the code shown) and print a reply with the same
JSON keys as the one shown. Skipped blocks print their reason; an
unmarked block of `$ assay-cli` lines is a failure, so new examples get a
marker."""

import json
import os
import re
import shlex

import framework as fw

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "rpc.md")
MARKER = re.compile(r"^<!-- example(?:\s+(.*?))?\s*-->$")
ERROR = re.compile(r"^error: .*\(code (-?\d+)\)\s*$")
# Where the doc's own chain and the test's differ, the examples name these.
ADDRESS = "dassay1dclkxrk3k9uwk0g4jjt2w7t5tgftlkphz8l0je"      # getaccount, listtransactions
PROOF_ADDRESS = "dassay137reyequpttw3gv7phkpx5hrzeenkzu3dphwju"  # getproof


def parse_marker(text):
    opts = {"skip": None, "with": None, "optional": set()}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        name, _, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if name == "skip":
            opts["skip"] = value or "no reason given"
        elif name == "with":
            opts["with"] = value
        elif name == "optional":
            opts["optional"] = {k.strip() for k in value.split(",") if k.strip()}
        else:
            raise AssertionError(f"unknown example marker option {name!r}")
    return opts


def examples(text):
    """(line number, marker options or None, [(args, reply text)]) per fenced
    block that holds `$ assay-cli` lines."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = []
        for line in lines[start + 1:j]:  # a trailing backslash continues a command
            if body and body[-1].endswith("\\"):
                body[-1] = body[-1][:-1] + " " + line.strip()
            else:
                body.append(line)
        calls = []
        for line in body:
            if line.startswith("$ assay-cli "):
                cmd = re.sub(r"\s+#.*$", "", line[len("$ assay-cli "):])
                calls.append([shlex.split(cmd), []])
            elif calls:
                calls[-1][1].append(line)
        if calls:
            marker = None
            k = start - 1
            if k >= 0 and MARKER.match(lines[k].strip()):
                marker = parse_marker(MARKER.match(lines[k].strip()).group(1))
            out.append((start + 1, marker, [(a, "\n".join(r).strip()) for a, r in calls]))
        i = j + 1
    return out


def keys_match(doc, got, optional, where):
    """Same keys in objects (recursively), the first elements of non-empty
    arrays compared alike; values are not compared."""
    if isinstance(doc, dict):
        assert isinstance(got, dict), f"{where}: expected an object, got {got!r:.200}"
        missing = set(doc) - set(got) - optional
        extra = set(got) - set(doc) - optional
        assert not missing and not extra, f"{where}: keys missing {sorted(missing)}, not in the doc {sorted(extra)}"
        for k in doc:
            if k in got:
                keys_match(doc[k], got[k], optional, f"{where}.{k}")
    elif isinstance(doc, list):
        assert isinstance(got, list), f"{where}: expected an array, got {got!r:.200}"
        if doc and got:
            keys_match(doc[0], got[0], optional, f"{where}[0]")
    elif doc is not None and got is not None:
        assert isinstance(got, type(doc)) or {type(doc), type(got)} <= {int, float}, \
            f"{where}: expected a {type(doc).__name__}, got {got!r:.200}"


def check_reply(args, doc, res, optional):
    where = "assay-cli " + " ".join(a[:40] for a in args)
    m = ERROR.match(doc.split("\n")[0]) if doc else None
    if m:
        assert res.returncode != 0 and f"(code {m.group(1)})" in res.stderr, \
            f"{where}: expected error code {m.group(1)}, got {res.returncode}: {res.stderr}{res.stdout:.300}"
        return
    assert res.returncode == 0, f"{where}: failed ({res.returncode}): {res.stderr}"
    if not doc:
        return
    out = res.stdout.strip()
    try:
        want = json.loads(doc)
    except ValueError:
        want = None
    if want is None and doc[:1] in "{[":
        # Abridged with "...": the keys it shows must be there.
        got = json.loads(out)
        shown = re.findall(r'^\s{2}"(\w+)":', doc, re.M) or re.findall(r'"(\w+)":', doc)
        obj = got[0] if isinstance(got, list) and got else got
        if isinstance(obj, dict):
            missing = set(shown) - set(obj) - optional
            assert not missing, f"{where}: keys missing {sorted(missing)}"
        return
    if want is None:
        assert out and not out.startswith(("{", "[")), f"{where}: expected a plain value, got {out:.200}"
        return
    try:
        got = json.loads(out)
    except ValueError:
        got = out  # a string result prints raw
    keys_match(want, got, optional, where)


def setup(node):
    node.cli("wallet", "import-dev")
    node.cli("send", "--from", "dev", "--to", PROOF_ADDRESS, "--amount", "1.5", "--wait")
    sent = node.cli_json("send", "--from", "dev", "--to", ADDRESS, "--amount", "1.5", "--wait")
    txid = sent["txid"] if isinstance(sent, dict) and "txid" in sent else None
    if not txid:
        txid = node.rpc("listtransactions", ADDRESS, 1)[0]["txid"]
    rawtx = node.cli_json("send", "--from", "dev", "--to", ADDRESS, "--amount", "1", "--raw")["hex"]
    res = node.cli("job", "submit", "--from", "dev", "--kind", "matmul-i8", "--m", "32", "--n", "32", "--k", "16",
                   "--tile-rows", "8", "--tile-cols", "8", "--reward", "2", "--deadline", "1000")
    job = res.stdout.split()[0]
    fw.wait_job(node, job, ("open",), timeout=30, missing_ok=True)
    node.wait_for_height(4)
    return {"txid": txid, "rawtx": rawtx, "job": job}


def test(tmpdir, nodes):
    with open(DOC) as f:
        blocks = examples(f.read())
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300", "-addrindex"]).start()
    nodes.append(node)
    peer = fw.Node(1, tmpdir, extra_args=["-novalidator", "-nolisten", f"-connect={fw.p2p_addr(node)}"]).start()
    nodes.append(peer)
    values = setup(node)
    ran = skipped = 0
    unmarked = []
    for line, marker, calls in blocks:
        if marker is None:
            unmarked.append(f"docs/rpc.md:{line}: {' '.join(calls[0][0])[:60]}")
            continue
        if marker["skip"]:
            print(f"skip docs/rpc.md:{line} ({' '.join(calls[0][0])[:40]}): {marker['skip']}")
            skipped += 1
            continue
        for args, doc in calls:
            if marker["with"]:
                assert marker["with"] in values, f"docs/rpc.md:{line}: unknown example value {marker['with']!r}"
                args = [args[0], values[marker["with"]]] + args[2:]
            res = node.cli(*args, check=False)
            try:
                check_reply(args, doc, res, marker["optional"])
            except AssertionError as e:
                raise AssertionError(f"docs/rpc.md:{line}: {e}")
            ran += 1
    print(f"docs/rpc.md: {ran} calls run, {skipped} examples skipped")
    assert not unmarked, "examples without a marker (rpc.md, \"Examples are tests\"):\n  " + "\n  ".join(unmarked)
    assert ran >= 3 * skipped, f"most examples must run: {ran} calls run, {skipped} blocks skipped"


if __name__ == "__main__":
    fw.run(test)
