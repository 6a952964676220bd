"""Runs the examples of docs/rpc.md and docs/cli.md against a dev node (the
marker convention is rpc.md's "Examples are tests"): every block marked
<!-- example --> has its `$ assay-cli ARGS` lines run through assay-cli.
An rpc.md call must succeed (or fail with the code shown) and print a reply
with the same JSON keys as the one shown. A cli.md call must exit non-zero
exactly when its shown output has an `error:` line or says `failed`, and
print the words and amounts shown (JSON keys for --json); cli.md's blocks
run in order in one working directory, as a reader would type them.
Skipped blocks print their reason; an unmarked block of `$ assay-cli`
lines is a failure, so new examples get a marker."""

import json
import os
import re
import shlex
import shutil

import framework as fw

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")
REPO = os.path.join(DOCS, "..")
MARKER = re.compile(r"^<!-- example(?:\s+(.*?))?\s*-->$")
ERROR = re.compile(r"^error: .*\(code (-?\d+)\)\s*$")
# Where the doc's own chain and the test's differ, the examples name these.
ADDRESS = "dassay1dclkxrk3k9uwk0g4jjt2w7t5tgftlkphz8l0je"      # getaccount, listtransactions
PROOF_ADDRESS = "dassay137reyequpttw3gv7phkpx5hrzeenkzu3dphwju"  # getproof
# cli.md: the recipient of its `tx status` transfer, that transfer, and the
# escrow its call and query examples use besides the one they deploy.
CLI_RECIPIENT = "dassay1dgk29kp8h7enunpx74gjv8hp4xwuten8qwnsp2"
CLI_TXID = "daa8667be04821c1470215416b8b2a2c71da2e3c0b8c15e790022b74af5e16e8"
CLI_ESCROW = "dassay1q7fvmqwex8h2dsatzm3sy22f2svtalgj9uyrug"
# Lines of cli.md outputs that are not output: passphrase prompts (the test
# passes passphrases in the environment) and the grid of backup words.
PROMPT = re.compile(r"^(New passphrase|Repeat passphrase|Passphrase for wallet '[^']*'):\s*$")
WORD_GRID = re.compile(r"^\s*(\d+\.\s+[a-z]+\s*)+$")
AMOUNT = re.compile(r"\d+\.\d{9} ASY")
BOUND = re.compile(r"^([a-z][a-z _]*):\s+([a-z]*assay1[0-9a-z]+|[0-9a-f]{64})\s*$")


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


def parse_call(line):
    """A `$ assay-cli` line: its arguments and the file a trailing
    `> FILE` sends stdout to (or None)."""
    args = shlex.split(re.sub(r"\s+#.*$", "", line))
    if len(args) >= 2 and args[-2] == ">":
        return args[:-2], args[-1]
    return args, None


def examples(text):
    """(line number, marker options or None, steps) per fenced block that
    holds `$ assay-cli` lines. A step is ["cli", args, stdout file, reply
    text] or, for a `$ echo TEXT > FILE` line, ["echo", TEXT, FILE];
    a line ending in a backslash continues on the next."""
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
        body = lines[start + 1:j]
        steps = []
        k = 0
        while k < len(body):
            line = body[k]
            while line.startswith("$ ") and line.endswith("\\") and k + 1 < len(body):
                k += 1
                line = line[:-1] + " " + body[k].strip()
            k += 1
            if line.startswith("$ assay-cli "):
                args, to_file = parse_call(line[len("$ assay-cli "):])
                steps.append(["cli", args, to_file, []])
            elif line.startswith("$ echo "):
                words = shlex.split(line[len("$ echo "):])
                assert len(words) == 3 and words[1] == ">", f"line {start + 1 + k}: only `echo TEXT > FILE` runs"
                steps.append(["echo", words[0], words[2]])
            elif steps and steps[-1][0] == "cli":
                steps[-1][3].append(line)
        if any(s[0] == "cli" for s in steps):
            marker = None
            if start >= 1 and MARKER.match(lines[start - 1].strip()):
                marker = parse_marker(MARKER.match(lines[start - 1].strip()).group(1))
            for s in steps:
                if s[0] == "cli":
                    s[3] = "\n".join(s[3]).strip()
            out.append((start + 1, marker, steps))
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


def check_json(doc, out, optional, where):
    """A reply shown as JSON: the same keys (see keys_match), or, where the
    doc abridges it with "...", the keys it shows. False if doc is not
    JSON at all."""
    try:
        want = json.loads(doc)
    except ValueError:
        want = None
    if want is None and doc[:1] in "{[":
        try:
            got = json.loads(out)
        except ValueError:
            raise AssertionError(f"{where}: expected JSON, got {out:.200}")
        shown = re.findall(r'^\s{2}"(\w+)":', doc, re.M) or re.findall(r'"(\w+)":', doc)
        obj = got[0] if isinstance(got, list) and got else got
        if isinstance(obj, dict):
            missing = set(shown) - set(obj) - optional
            assert not missing, f"{where}: keys missing {sorted(missing)}"
        return True
    if want is None:
        return False
    try:
        got = json.loads(out)
    except ValueError:
        got = out  # a string result prints raw
    keys_match(want, got, optional, where)
    return True


def check_reply(args, doc, res, optional):
    """rpc.md: success with the keys shown, or the error code shown."""
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
    if not check_json(doc, out, optional, where):
        assert out and not out.startswith(("{", "[")), f"{where}: expected a plain value, got {out:.200}"


def shown_words(text):
    """The words of a shown output that any chain prints alike: no numbers,
    hashes, addresses, paths or abridged values."""
    words = []
    for token in text.split():
        if re.search(r"[0-9/]|…|\.\.\.|assay1", token) or re.fullmatch(r"[0-9a-f]{8,}", token.strip("(),.;:'")):
            continue
        word = token.strip("()[],;:.'\"`")
        if re.fullmatch(r"-{0,2}[A-Za-z][\w'-]*", word):
            words.append(word)
    return words


def shape(line):
    """A line with its addresses, hashes, paths and numbers made alike."""
    line = re.sub(r"[dt]?assay1[02-9ac-hj-np-z]+", "ADDR", line)
    line = re.sub(r"\b[0-9a-f]{4,}(…|\.\.\.)[0-9a-f]{4,}\b|\b[0-9a-f]{8,}\b", "HEX", line)
    line = re.sub(r"/\S+", "PATH", line)
    line = re.sub(r"\d+(\.\d+)?", "N", line)
    return " ".join(line.split())


def check_cli(args, doc, res, optional):
    """cli.md: the exit status the shown output implies, then its JSON keys
    or its words, the number of its ASY amounts and the shape of its event
    and committed lines."""
    where = "assay-cli " + " ".join(a[:40] for a in args)
    lines = [ln for ln in doc.split("\n") if not PROMPT.match(ln) and not WORD_GRID.match(ln)]
    shown = "\n".join(lines).strip()
    fails = any(ln.startswith("error: ") for ln in lines) or re.search(r"\bfailed\b", shown)
    printed = res.stdout + res.stderr
    if fails:
        assert res.returncode != 0, f"{where}: shown failing but exited 0: {printed:.400}"
    else:
        assert res.returncode == 0, f"{where}: failed ({res.returncode}): {printed:.400}"
    if not shown:
        return
    if shown[:1] in "{[" and check_json(shown, res.stdout.strip(), optional, where):
        return
    missing = [w for w in shown_words(shown) if not re.search(r"(?<![\w-])" + re.escape(w) + r"(?!\w)", printed)]
    assert not missing, f"{where}: shown words not printed {missing}; printed:\n{printed:.1200}"
    want, got = len(AMOUNT.findall(shown)), len(AMOUNT.findall(printed))
    assert got >= want, f"{where}: {want} amounts in ASY shown, {got} printed:\n{printed:.600}"
    shapes = {shape(ln) for ln in printed.split("\n")}
    for ln in lines:
        if ln.startswith(("event ", "committed at height")):
            assert shape(ln) in shapes, f"{where}: no line shaped like {ln!r} in:\n{printed:.1200}"


def bind_outputs(doc, printed, bindings):
    """Learns the test's values for the addresses and ids a shown output
    names by label ("address: X", "contract: X"), so that later examples
    naming X use them."""
    got = {}
    for line in printed.split("\n"):
        m = BOUND.match(line.strip())
        if m:
            got.setdefault(m.group(1), m.group(2))
    for line in doc.split("\n"):
        m = BOUND.match(line.strip())
        if m and m.group(1) in got:
            bindings[m.group(2)] = got[m.group(1)]


def run_doc(name, node, blocks, run_step):
    """Runs every marked block of one page through run_step(marker, step);
    asserts that no block is unmarked and that most of them ran."""
    ran = skipped = 0
    unmarked = []
    for line, marker, steps in blocks:
        first = " ".join(next(s[1] for s in steps if s[0] == "cli"))[:60]
        if marker is None:
            unmarked.append(f"docs/{name}:{line}: {first}")
            continue
        if marker["skip"]:
            print(f"skip docs/{name}:{line} ({first[:40]}): {marker['skip']}")
            skipped += 1
            continue
        for step in steps:
            try:
                ran += run_step(marker, step)
            except AssertionError as e:
                raise AssertionError(f"docs/{name}:{line}: {e}")
    print(f"docs/{name}: {ran} calls run, {skipped} examples skipped")
    assert not unmarked, f"examples without a marker (docs/{name}; rpc.md, \"Examples are tests\"):\n  " + \
        "\n  ".join(unmarked)
    assert ran >= 3 * skipped, f"docs/{name}: most examples must run: {ran} calls run, {skipped} blocks skipped"


def read_doc(name):
    with open(os.path.join(DOCS, name)) as f:
        return examples(f.read())


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


def run_rpc_md(node, values):
    def step(marker, s):
        args, doc = s[1], s[3]
        if marker["with"]:
            assert marker["with"] in values, f"unknown example value {marker['with']!r}"
            args = [args[0], values[marker["with"]]] + args[2:]
        check_reply(args, doc, node.cli(*args, check=False), marker["optional"])
        return 1
    run_doc("rpc.md", node, read_doc("rpc.md"), step)


def setup_cli_md(node, workdir):
    """What cli.md's examples take as given: wallets bob (empty), seller,
    arbiter, and stranger, buyer and provider with a little for fees and
    value; its `tx status` transfer; its second escrow, deployed by dev;
    the sources its contract examples build, in the working directory."""
    os.makedirs(os.path.join(workdir, "vm", "contracts"))
    for src in ("escrow.asm", "job_escrow.asm"):
        shutil.copy(os.path.join(REPO, "vm", "contracts", src), os.path.join(workdir, "vm", "contracts", src))
    shutil.copy(os.path.join(REPO, "vm", "contracts", "escrow.asm"), workdir)
    with open(os.path.join(workdir, "broken.asm"), "w") as f:
        f.write("; not a contract: the contract build example's failure\nstart:\n    frob r1\n")
    addr = {}
    for name in ("bob", "seller", "arbiter", "stranger", "buyer", "provider"):
        addr[name] = node.cli_json("wallet", "create", name)["address"]
    for name, amount in (("stranger", "1"), ("buyer", "10"), ("provider", "1")):
        node.cli("send", "--from", "dev", "--to", addr[name], "--amount", amount)
    sent = node.cli_json("send", "--from", "dev", "--to", CLI_RECIPIENT, "--amount", "1.5", "--wait")
    escrow = node.cli_json("contract", "deploy", "--from", "dev", os.path.join(workdir, "escrow.asm"),
                           "--value", "5", "--args", "seller", "arbiter", "1000", "--wait")
    assert escrow.get("ok"), f"the second escrow: {escrow}"
    return {CLI_TXID: sent["txid"], CLI_ESCROW: escrow["contract"]}


def run_cli_md(node, workdir):
    bindings = setup_cli_md(node, workdir)
    env = {"ASSAY_NEW_PASSPHRASE": "test-passphrase"}  # wallet passphrase: a "new" one that keeps the tests' own

    def step(marker, s):
        path = os.path.join(workdir, s[2]) if s[2] else None
        if s[0] == "echo":
            with open(path, "w") as f:
                f.write(s[1] + "\n")
            return 0
        args = [bindings.get(a, a) for a in s[1]]
        res = node.cli(*args, check=False, env_extra=env)
        if path:
            with open(path, "w") as f:
                f.write(res.stdout)
        check_cli(args, s[3], res, marker["optional"])
        bind_outputs(s[3], res.stdout, bindings)
        return 1

    here = os.getcwd()
    os.chdir(workdir)
    try:
        run_doc("cli.md", node, read_doc("cli.md"), step)
    finally:
        os.chdir(here)


def test(tmpdir, nodes):
    fw.BUILD = os.path.abspath(fw.BUILD)  # cli.md's examples run in their own directory
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300", "-addrindex"]).start()
    nodes.append(node)
    peer = fw.Node(1, tmpdir, extra_args=["-novalidator", "-nolisten", f"-connect={fw.p2p_addr(node)}"]).start()
    nodes.append(peer)
    run_rpc_md(node, setup(node))
    workdir = os.path.join(tmpdir, "cli-examples")
    run_cli_md(node, workdir)


if __name__ == "__main__":
    fw.run(test)
