"""Runs the `$ assay-cli` examples of docs/cli.md against a dev node, with
the marker convention of docs/rpc.md ("Examples are tests") and the parser
of docs_examples.py. What counts as an example: a fenced block in docs/
holding `$ assay-cli ...` lines (docs/cli.md is the only page besides rpc.md
that has them; README.md and docs/compute.md list commands without `$` or
output, as synopses, which are not examples). Each call runs in a scratch
directory (with vm/ linked in, for the contract sources), with the dev
wallet imported and wallets alice (funded) and bob (empty) created; other
`$` lines of a block (echo, cat) run there through the shell. A call shown
with an `error:` reply must exit non-zero with that error's first words;
one shown with JSON must print the same keys; one shown with text must
print a line of the same shape as the first line shown and as each event
and `committed at height` line (numbers, hex and addresses stand for any). Unmarked blocks fail the test."""

import json
import os
import re
import shlex
import subprocess

import docs_examples as dx
import framework as fw

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "cli.md")
TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# The doc's escrows (released; unreleased), standing for the test's two.
DOC_ESCROWS = ["dassay10vmq8es85uq7z68md0l89h6n3f3cv0l7qgfrln", "dassay1q7fvmqwex8h2dsatzm3sy22f2svtalgj9uyrug"]
KEY_LINES = ("event ", "committed at height")  # checked besides the first line
PROMPTS = ("New passphrase:", "Repeat passphrase:", "Passphrase", "Backup words (")


def shape(line):
    line = re.sub(r"[dt]assay1[02-9ac-hj-np-z]+", "ADDR", line)
    line = re.sub(r"\b[0-9a-f]{4,}(…|\.\.\.)[0-9a-f]{4,}\b", "HEX", line)
    line = re.sub(r"/\S+", "PATH", line)
    line = re.sub(r"\b[0-9a-f]{8,}(…[0-9a-f]+)?\b", "HEX", line)
    line = re.sub(r"\d+(\.\d+)?", "N", line)
    return " ".join(line.split())


def shell_blocks(text):
    """Per block of dx.examples(), the `$` lines that are not assay-cli,
    by block line number."""
    lines = text.split("\n")
    out = {}
    for line, _, _ in dx.examples(text):
        for r in lines[line:]:
            if r.startswith("```"):
                break
            if r.startswith("$ ") and not r.startswith("$ assay-cli "):
                out.setdefault(line, []).append(r[2:])
    return out


def check_text(where, doc, res, optional):
    lines = [l for l in doc.split("\n") if l.strip() and not l.startswith(PROMPTS) and not l.startswith("$ ")]
    first = lines[0] if lines else ""
    if first.startswith("error:"):
        key = ":".join(re.split(r"[(;]", first)[0].split(":")[0:2]).strip()
        assert res.returncode != 0, f"{where}: shown refusing, but it exited 0: {res.stdout:.300}"
        assert key in res.stderr, f"{where}: expected {key!r}, got {res.stderr:.300}"
        return
    if any(re.match(r"committed at height \d+: failed", l) for l in lines):  # a failed transaction exits 1
        assert res.returncode == 1, f"{where}: shown failing on chain, exited {res.returncode}: {res.stderr:.300}"
    else:
        assert res.returncode == 0, f"{where}: failed ({res.returncode}): {res.stderr:.300}"
    if not first:
        return
    if first[:1] in "{[":
        dx.check_reply([where], "\n".join(lines), res, optional)
        return
    got = {shape(l) for l in (res.stdout + res.stderr).split("\n")}
    for key in [first] + [l for l in lines[1:] if l.startswith(KEY_LINES)]:
        assert shape(key) in got, f"{where}: no line shaped like {key!r} in:\n{res.stdout}{res.stderr}"


def run_cli(node, cwd, args):
    env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase", ASSAY_NEW_PASSPHRASE="test-passphrase", ASSAY_SCRYPT_N="1024", ASSAY_TESTING="1")
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


def test(tmpdir, nodes):
    with open(DOC) as f:
        text = f.read()
    blocks = dx.examples(text)
    shells = shell_blocks(text)
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=300", "-addrindex"]).start()
    nodes.append(node)
    work = os.path.join(tmpdir, "docs-cli")
    os.makedirs(work)
    os.symlink(os.path.join(TOP, "vm"), os.path.join(work, "vm"))
    node.cli("wallet", "import-dev")
    for name in ("bob", "seller", "arbiter", "stranger"):
        node.cli("wallet", "create", name)
    stranger = node.cli("wallet", "address", "stranger").stdout.split()[-1]
    node.cli("send", "--from", "dev", "--to", stranger, "--amount", "1")
    txid = node.cli_json("send", "--from", "dev", "--to", dx.ADDRESS, "--amount", "1", "--wait")["txid"]
    ran = skipped = 0
    escrows = []
    unmarked, failed = [], []
    for line, marker, calls in blocks:
        where = f"docs/cli.md:{line}"
        if marker is None:
            unmarked.append(f"{where}: {' '.join(calls[0][0])[:60]}")
            continue
        if marker["skip"]:
            print(f"skip {where} ({' '.join(calls[0][0])[:40]}): {marker['skip']}")
            skipped += 1
            continue
        if calls[0][0] == ["wallet", "import-dev"]:  # it shows a first import
            os.remove(os.path.join(node.datadir, "wallet", "dev.json"))
        if calls[0][0][:1] == ["getproof"]:  # alice (created above) holds 1.5 ASY
            alice = node.cli("wallet", "address", "alice").stdout.split()[-1]
            node.cli("send", "--from", "dev", "--to", alice, "--amount", "1.5", "--wait")
        for cmd in shells.get(line, []):
            if "assay-cli" not in cmd:
                subprocess.run(cmd, shell=True, cwd=work, check=True)
        for args, doc in calls:
            if marker["with"] == "escrow":  # the doc's contracts stand for the one deployed above
                if len(escrows) == 1:  # a second one, unreleased, for the calls after the release
                    again = run_cli(node, work, ["contract", "deploy", "--from", "dev", "escrow.bin", "--value", "5",
                                                 "--args", "seller", "arbiter", "1000", "--wait"])
                    escrows.append(re.search(r"^contract: (dassay1\w+)", again.stdout, re.M).group(1))
                args = [escrows[DOC_ESCROWS.index(a)] if a in DOC_ESCROWS else a for a in args]
            if marker["with"] == "txid":
                args = [txid if re.fullmatch(r"[0-9a-f]{64}", a) else a for a in args]
            dest = None
            if ">" in args:  # `> FILE`: the reply goes there
                dest = args[args.index(">") + 1]
                args = args[:args.index(">")]
            res = run_cli(node, work, args)
            m = re.search(r"^contract: (dassay1\w+)", res.stdout, re.M)
            if m and not escrows:
                escrows.append(m.group(1))
            if dest:
                with open(os.path.join(work, dest), "w") as f:
                    f.write(res.stdout)
            try:
                check_text(f"{where}: assay-cli {' '.join(args)[:60]}", doc, res, marker["optional"])
            except AssertionError as e:
                failed.append(str(e))
            ran += 1
    print(f"docs/cli.md: {ran} calls run, {skipped} examples skipped")
    assert not failed, "examples that do not do what they show:\n  " + "\n  ".join(failed)
    assert not unmarked, "examples without a marker (rpc.md, \"Examples are tests\"):\n  " + "\n  ".join(unmarked)
    assert ran >= skipped, f"most examples must run: {ran} calls run, {skipped} blocks skipped"


if __name__ == "__main__":
    fw.run(test)
