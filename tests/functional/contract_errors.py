"""Contracts that go wrong, on a dev chain through assay-cli: invalid
bytecode (refused by the CLI and, sent anyway, by the node), a call to a
plain account, an unknown method, a wrong argument count, an endless loop,
endless recursion, a huge memory request and storage spam. Each ends with
a clear error in the CLI or the receipt; a failed transaction costs its fee
and changes nothing else; the node keeps producing blocks throughout."""

import json
import os

import framework as fw

UNIT = 10**9
DEPLOY_FEE = 1000 + 2000000       # min_fee + default deploy gas x gas_price
CALL_FEE = 1000 + 1000000         # min_fee + default call gas x gas_price
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "contracts")
ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "escrow.asm")


def account(node, addr):
    a = node.rpc("getaccount", addr)
    return a["balance"], a["nonce"]


def cli_json(node, *args):
    """Runs a command that may fail; returns (exit status, JSON or None, stderr)."""
    res = node.cli("--json", *args, check=False)
    try:
        out = json.loads(res.stdout) if res.stdout.strip() else None
    except ValueError:
        out = None
    return res.returncode, out, res.stderr


def deploy(node, path, *extra):
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", path, "--wait", *extra)
    fw.assert_eq(rc, 0, f"deploy {path}: {err}")
    assert out["ok"], out
    return out["contract"]


def failed_call(node, user, contract, method, *extra, contains, fee=CALL_FEE):
    """A call that must fail in its receipt: fee paid, nonce spent, no other change.
    Sent with --force: without it the CLI refuses what its checks or the
    node's dry run say will fail (contract_abi.py tests those refusals)."""
    bal, nonce = account(node, user)
    cbal = node.rpc("getaccount", contract)["balance"]
    h0 = node.height()
    rc, out, err = cli_json(node, "contract", "call", "--from", "user", contract, method,
                            "--wait", "--force", *extra)
    fw.assert_eq(rc, 1, f"exit status of failed {method}: {err}")
    assert out and not out["ok"], out
    assert contains in out["error"], (contains, out)
    fw.assert_eq(out["events"], [], "events of a failed call")
    fw.assert_eq(account(node, user), (bal - fee, nonce + 1), f"user after failed {method}")
    fw.assert_eq(node.rpc("getaccount", contract)["balance"], cbal, "contract balance unchanged")
    # The chain goes on after it.
    node.wait_for_height(max(h0, out["height"]) + 2)
    return out


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.wait_for_height(2)
    node.cli("wallet", "import-dev")
    node.cli("wallet", "create", "user")
    node.cli("wallet", "create", "other")
    user = node.cli("wallet", "address", "user").stdout.strip()
    other = node.cli("wallet", "address", "other").stdout.strip()
    node.cli("send", "--from", "dev", "--to", user, "--amount", "50", "--wait")

    # Invalid bytecode: the CLI refuses it before signing ...
    bad = os.path.join(DATA, "badop.bin")
    before = account(node, user)
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", bad, "--wait")
    fw.assert_eq(rc, 1, "exit status for invalid code")
    assert "invalid contract code: unknown opcode 0xee at pc 0" in err, err
    # ... so does the node's dry run when the CLI's check is skipped ...
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", bad, "--no-validate")
    fw.assert_eq(rc, 1, "exit status for invalid code refused by the dry run")
    assert "refused: the chain would not accept this transaction: invalid contract code" in err, err
    # ... and the node refuses it when sent anyway: nothing is spent.
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", bad, "--no-validate",
                            "--force")
    fw.assert_eq(rc, 1, "exit status for invalid code sent to the node")
    assert "invalid contract code: unknown opcode 0xee at pc 0" in err and "(code" in err, err
    fw.assert_eq(account(node, user), before, "user after refused deploy")
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "refused deploy not pooled")
    # An assembler error names the file, line and column.
    res = node.cli("contract", "build", os.path.abspath(__file__), check=False)
    fw.assert_eq(res.returncode, 2, "build of a non-.asm file")
    broken = os.path.join(tmpdir, "broken.asm")
    with open(broken, "w") as f:
        f.write("\tmovi r1, 1\n\tmovi r99, 2\n")
    res = node.cli("contract", "build", broken, check=False)
    fw.assert_eq(res.returncode, 1, "exit status for an assembler error")
    assert f"{broken}:2:" in res.stderr, res.stderr

    # A call to a plain account: refused before signing, nothing spent ...
    before = account(node, user)
    rc, out, err = cli_json(node, "contract", "call", "--from", "user", other, "release", "--wait")
    fw.assert_eq(rc, 1, "exit status of a call to a plain account")
    assert "is not a contract" in err and "nothing was sent" in err, err
    fw.assert_eq(account(node, user), before, "user after the refused call")
    # ... and sent anyway with --force, the receipt says so.
    failed_call(node, user, other, "release", contains="not a contract")
    rc, out, err = cli_json(node, "contract", "query", other, "status")
    fw.assert_eq(rc, 1, "query of a plain account")
    assert "is not a contract" in err, err

    # The escrow, for method and argument errors.
    # Wrong argument count at deploy: init wants seller, arbiter, timeout.
    # The ABI refuses it before signing ...
    bal, nonce = account(node, user)
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", ESCROW, "--value", "1",
                            "--wait", "--args", other, user)
    fw.assert_eq(rc, 2, "deploy with too few init arguments, checked by the ABI")
    assert "init takes 3 arguments, not 2" in err, err
    fw.assert_eq(account(node, user), (bal, nonce), "refused deploy spends nothing")
    # ... and --force sends it: the contract's own check reverts the deploy.
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", ESCROW, "--value", "1",
                            "--wait", "--force", "--args", other, user)
    fw.assert_eq(rc, 1, "deploy with too few init arguments")
    assert not out["ok"] and "init takes seller, arbiter, timeout" in out["error"], out
    fw.assert_eq(account(node, user), (bal - DEPLOY_FEE, nonce + 1), "failed deploy keeps the value")
    assert node.rpc("getaccount", out["contract"])["balance"] == 0
    rc, out, err = cli_json(node, "contract", "query", out["contract"], "status")
    assert rc == 1 and "is not a contract" in err, err
    # A bad argument is a usage error before anything is signed.
    rc, out, err = cli_json(node, "contract", "deploy", "--from", "user", ESCROW, "--args",
                            other, user, "-5")
    assert rc == 2, (rc, err)
    escrow = deploy(node, ESCROW, "--value", "1", "--args", other, user, str(node.height() + 100000))
    failed_call(node, user, escrow, "nosuchmethod", contains="revert: unknown method")
    rc, out, err = cli_json(node, "contract", "query", escrow, "nosuchmethod")
    assert rc == 1 and out and not out["ok"] and "unknown method" in out["error"], (out, err)
    q = node.cli_json("contract", "query", escrow, "status")
    assert q["ok"] and len(q["return"]) == 168, q

    # An endless loop runs out of gas: the whole gas limit is used, the fee
    # is paid, the value sent with the call comes back.
    loop = deploy(node, os.path.join(DATA, "loop.asm"))
    out = failed_call(node, user, loop, "spin", "--value", "2", "--gas", "50000",
                      "--fee", "0.000051", contains="out of gas", fee=51000)
    fw.assert_eq(out["gas_used"], 50000, "gas used by the loop")
    # A fee below min_fee + gas x gas_price is refused by the CLI.
    rc, out, err = cli_json(node, "contract", "call", "--from", "user", loop, "spin", "--gas",
                            "50000", "--fee", "0.00005")
    assert rc == 2 and "below min_fee + gas x gas_price" in err, err

    # Endless recursion stops at the VM's call depth limit.
    rec = deploy(node, os.path.join(DATA, "recurse.asm"))
    failed_call(node, user, rec, "down", contains="call depth limit")

    # A huge memory request traps; nothing is allocated.
    mem = deploy(node, os.path.join(DATA, "bigmem.asm"))
    failed_call(node, user, mem, "grow", contains="mem_grow: over the memory limit")

    # Storage spam hits the gas limit and keeps none of its writes.
    spam = deploy(node, os.path.join(DATA, "spam.asm"))
    rc, out, err = cli_json(node, "contract", "call", "--from", "user", spam, "fill", "3", "--wait")
    assert rc == 0 and out["ok"], (out, err)
    q = node.cli_json("contract", "query", spam, "count")
    assert q["ok"] and q["words"] == [3], q
    out = failed_call(node, user, spam, "spam", "--gas", "2000000",
                      contains="out of gas", fee=2001000)
    fw.assert_eq(out["gas_used"], 2000000, "gas used by the spam")
    q = node.cli_json("contract", "query", spam, "count")
    assert q["ok"] and q["words"] == [3], q
    failed_call(node, user, spam, "fill", contains="fill takes a count")

    # Large code deploys with the default gas: its bytes are priced (64
    # gas a byte) and the CLI's default covers them and an init.
    big = os.path.join(tmpdir, "big.asm")
    with open(big, "w") as f:
        f.write("\tret\n.data\nblob: .zero 40000\n")
    out = deploy(node, big, "--no-validate")
    assert out, "a 40 KB contract deployed with the default gas"

    # The node is still making blocks and answering.
    h = node.height()
    node.wait_for_height(h + 3)
    node.cli("send", "--from", "dev", "--to", other, "--amount", "1", "--wait")
    fw.assert_eq(node.rpc("getaccount", other)["balance"], UNIT, "a transfer after all that")


if __name__ == "__main__":
    fw.run(test)
