"""Contract ABIs from assay-cli on a dev chain (docs/contracts.md §10): build
writes FILE.abi.json and the code carries the ABI's hash; a deploy that
leaves out the init call the ABI requires is refused before signing, so no
fee is paid and no value is locked; typed init arguments are checked; a
call to a plain account and a call the ABI does not know are refused with
nothing spent; a reverting call is refused after the node's dry run
(simulatetransaction) and, sent with --force, prints "failed" and exits 1;
`contract query ADDR status --abi` prints named, typed values (bech32m
addresses, amounts in ASY) and --json gives them as an object; the ABI a
deploy kept under its hash types later commands without --abi."""

import json
import os
import shutil

import framework as fw

UNIT = 10**9
DEPLOY_FEE = 1000 + 2000000       # min_fee + default deploy gas x gas_price
CALL_FEE = 1000 + 1000000         # min_fee + default call gas x gas_price
HERE = os.path.dirname(os.path.abspath(__file__))
ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "escrow.asm")
JOB_ESCROW = os.path.join(HERE, "..", "..", "vm", "contracts", "job_escrow.asm")


def account(node, addr):
    a = node.rpc("getaccount", addr)
    return a["balance"], a["nonce"]


def cli(node, *args):
    """(exit status, stdout, stderr) of a command that may fail."""
    res = node.cli(*args, check=False)
    return res.returncode, res.stdout, res.stderr


def refused(node, who, rc_want, contains, *args):
    """The command fails with rc_want and contains in stderr, and who's
    balance and nonce, and the mempool, stay as they were."""
    before = account(node, who)
    rc, out, err = cli(node, *args)
    fw.assert_eq(rc, rc_want, f"exit status of {' '.join(args)}: {err}")
    for c in contains:
        assert c in err, (c, err)
    fw.assert_eq(account(node, who), before, f"balance and nonce after {' '.join(args)}")
    fw.assert_eq(node.rpc("getmempoolinfo")["size"], 0, "nothing pooled")
    return err


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.wait_for_height(2)
    node.cli("wallet", "import-dev")
    addr = {}
    for name in ("buyer", "seller", "arbiter", "stranger"):
        node.cli("wallet", "create", name)
        addr[name] = node.cli("wallet", "address", name).stdout.strip()
    node.cli("send", "--from", "dev", "--to", addr["buyer"], "--amount", "100", "--wait")
    node.cli("send", "--from", "dev", "--to", addr["stranger"], "--amount", "1", "--wait")

    # build: the bytecode, FILE.abi.json beside it, and the hash in the code.
    work = os.path.join(tmpdir, "build")
    os.makedirs(work)
    src = os.path.join(work, "escrow.asm")
    shutil.copy(ESCROW, src)
    built = node.cli_json("contract", "build", src)
    abi_path = os.path.join(work, "escrow.abi.json")
    fw.assert_eq(built["abi"], abi_path, "ABI file written beside the bytecode")
    with open(abi_path) as f:
        abi = json.load(f)
    fw.assert_eq(abi["abi_hash"], built["abi_hash"], "abi hash in the file and the output")
    fw.assert_eq(abi["init_required"], True, "escrow declares .init")
    fw.assert_eq([m["name"] for m in abi["methods"]],
                 ["init", "deposit", "release", "refund", "status"], "escrow methods")
    fw.assert_eq(abi["methods"][0]["signature"],
                 "init(address seller, address arbiter, u64 timeout_height) -> void", "init signature")
    with open(os.path.join(work, "escrow.bin"), "rb") as f:
        code = f.read()
    fw.assert_eq(code[-40:-32], b"assayABI", "the code's last data block holds the ABI magic")
    fw.assert_eq(code[-32:].hex(), built["abi_hash"], "and the ABI hash")

    # The locked-funds deploy: no init arguments. Refused before signing,
    # from the source and from the bytecode (its ABI found beside it).
    for path in (ESCROW, os.path.join(work, "escrow.bin")):
        refused(node, addr["buyer"], 2, ["must be deployed with its init call",
                                         "init(address seller, address arbiter, u64 timeout_height)",
                                         "nothing was sent"],
                "contract", "deploy", "--from", "buyer", path, "--value", "5", "--wait")
    # Bytecode that carries an ABI hash, with no ABI to be found: refused.
    lone = os.path.join(tmpdir, "lone.bin")
    shutil.copy(os.path.join(work, "escrow.bin"), lone)
    refused(node, addr["buyer"], 2, ["carries an ABI hash but no ABI was found"],
            "contract", "deploy", "--from", "buyer", lone, "--value", "5", "--wait")
    # An ABI that is not the code's: refused.
    job_abi = os.path.join(tmpdir, "job.bin")
    node.cli("contract", "build", JOB_ESCROW, "-o", job_abi)
    refused(node, addr["buyer"], 2, ["is not the one the code carries"],
            "contract", "deploy", "--from", "buyer", lone, "--abi",
            os.path.join(tmpdir, "job.abi.json"), "--value", "5", "--args", "seller", "arbiter", "9")
    # Typed init arguments: the count and each type are checked.
    refused(node, addr["buyer"], 2, ["init takes 3 arguments, not 2"],
            "contract", "deploy", "--from", "buyer", ESCROW, "--value", "5", "--args", "seller", "arbiter")
    refused(node, addr["buyer"], 2, ["argument 3 (u64 timeout_height): 'soon' is not a whole number"],
            "contract", "deploy", "--from", "buyer", ESCROW, "--value", "5", "--args", "seller",
            "arbiter", "soon")

    # With its arguments the deploy goes through; the deposit is in the contract.
    bal, nonce = account(node, addr["buyer"])
    timeout = node.height() + 100000
    out = node.cli_json("contract", "deploy", "--from", "buyer", os.path.join(work, "escrow.bin"),
                        "--value", "5", "--wait", "--args", "seller", addr["arbiter"], str(timeout))
    assert out["ok"], out
    fw.assert_eq(out["abi_hash"], built["abi_hash"], "deploy names the ABI hash")
    escrow = out["contract"]
    fw.assert_eq(account(node, addr["buyer"]), (bal - 5 * UNIT - DEPLOY_FEE, nonce + 1), "buyer after deploy")
    fw.assert_eq(node.rpc("getaccount", escrow)["balance"], 5 * UNIT, "escrow holds the deposit")
    record = bytes.fromhex(node.rpc("getcode", escrow)["record"])
    fw.assert_eq(record[-32:].hex(), built["abi_hash"], "the deployed code carries the ABI hash")

    # A call to a plain account: refused, no fee.
    refused(node, addr["buyer"], 1, ["is not a contract", "nothing was sent"],
            "contract", "call", "--from", "buyer", addr["seller"], "release", "--wait")
    # Calls checked against the ABI before signing.
    refused(node, addr["buyer"], 2, ["has no method 'relase'", "release"],
            "contract", "call", "--from", "buyer", escrow, "relase", "--abi", abi_path, "--wait")
    refused(node, addr["buyer"], 2, ["release takes 0 arguments, not 1"],
            "contract", "call", "--from", "buyer", escrow, "release", "5", "--abi", abi_path)
    refused(node, addr["buyer"], 2, ["is not the one the code carries"],
            "contract", "call", "--from", "buyer", escrow, "settle", "--abi",
            os.path.join(tmpdir, "job.abi.json"))

    # A reverting call: the stranger may not release. The dry run refuses it
    # with no fee; --force sends it, and the failed receipt exits 1.
    refused(node, addr["stranger"], 1,
            ["refused: this transaction would fail on chain",
             "revert: only the buyer or the arbiter can release", "nothing was sent"],
            "contract", "call", "--from", "stranger", escrow, "release", "--abi", abi_path, "--wait")
    # The same without an ABI: the dry run alone refuses it.
    shutil.move(os.path.join(node.datadir, "abi"), os.path.join(tmpdir, "abi-away"))
    refused(node, addr["stranger"], 1, ["would fail on chain", "only the buyer or the arbiter"],
            "contract", "call", "--from", "stranger", escrow, "release", "--wait")
    shutil.move(os.path.join(tmpdir, "abi-away"), os.path.join(node.datadir, "abi"))
    # A deploy whose init reverts is refused by the dry run as well: the
    # job escrow's init traps when the job payload is not a job.
    junk = os.path.join(tmpdir, "junk.bin")
    with open(junk, "wb") as f:
        f.write(b"\x01not a job")
    refused(node, addr["buyer"], 1, ["would fail on chain", "job_submit"],
            "contract", "deploy", "--from", "buyer", JOB_ESCROW, "--value", "1", "--wait",
            "--args", "seller", "@" + junk)
    bal, nonce = account(node, addr["stranger"])
    rc, stdout, err = cli(node, "contract", "call", "--from", "stranger", escrow, "release",
                          "--abi", abi_path, "--wait", "--force")
    fw.assert_eq(rc, 1, f"exit status of a forced failing call: {err}")
    assert "failed: revert: only the buyer or the arbiter can release" in stdout, stdout
    fw.assert_eq(account(node, addr["stranger"]), (bal - CALL_FEE, nonce + 1), "the forced call pays its fee")
    fw.assert_eq(node.rpc("getaccount", escrow)["balance"], 5 * UNIT, "escrow untouched")

    # query: named, typed values.
    rc, stdout, err = cli(node, "contract", "query", escrow, "status", "--abi", abi_path)
    fw.assert_eq(rc, 0, f"typed query: {err}")
    lines = dict(line.split(":", 1) for line in stdout.strip().splitlines())
    lines = {k.strip(): v.strip() for k, v in lines.items()}
    fw.assert_eq(lines["buyer"], addr["buyer"], "buyer as bech32m")
    fw.assert_eq(lines["seller"], addr["seller"], "seller as bech32m")
    fw.assert_eq(lines["arbiter"], addr["arbiter"], "arbiter as bech32m")
    fw.assert_eq(lines["timeout_height"], str(timeout), "timeout")
    fw.assert_eq(lines["state"], "0", "state active")
    fw.assert_eq(lines["balance"], "5.000000000 ASY", "balance in ASY")
    q = node.cli_json("contract", "query", escrow, "status", "--abi", ESCROW)  # the source works too
    assert q["ok"], q
    fw.assert_eq(q["method"], abi["methods"][4]["signature"], "query names the signature")
    fw.assert_eq(q["values"], {"buyer": addr["buyer"], "seller": addr["seller"],
                               "arbiter": addr["arbiter"], "timeout_height": timeout, "state": 0,
                               "balance": 5 * UNIT, "balance_asy": "5.000000000"}, "typed values")
    assert len(q["return"]) == 168, q  # the raw return data stays
    # Without --abi: the deploy kept the ABI in DATADIR/abi/HASH.abi.json,
    # and the code names HASH, so calls and queries find it ...
    cached = os.path.join(node.datadir, "abi", built["abi_hash"] + ".abi.json")
    assert os.path.exists(cached), cached
    q = node.cli_json("contract", "query", escrow, "status")
    fw.assert_eq(q["values"]["balance_asy"], "5.000000000", "typed by the kept ABI")
    refused(node, addr["buyer"], 2, ["has no method 'relase'"],
            "contract", "call", "--from", "buyer", escrow, "relase", "--wait")
    # ... and without it the query is untyped, as before.
    shutil.move(cached, cached + ".away")
    q = node.cli_json("contract", "query", escrow, "status")
    assert "values" not in q and len(q["return"]) == 168, q
    shutil.move(cached + ".away", cached)

    # The buyer's release, checked and sent; the query shows the new state.
    out = node.cli_json("contract", "call", "--from", "buyer", escrow, "release", "--abi", abi_path,
                        "--wait")
    assert out["ok"], out
    q = node.cli_json("contract", "query", escrow, "status", "--abi", abi_path)
    fw.assert_eq((q["values"]["state"], q["values"]["balance"]), (1, 0), "released")
    fw.assert_eq(node.rpc("getaccount", addr["seller"])["balance"], 5 * UNIT, "seller paid")


if __name__ == "__main__":
    fw.run(test)
