"""Clients refuse a node that lies about which chain it runs (docs/cli.md
"Chains", docs/compute.md §10 "A hostile node"): a chain compiled into the
programs (assay-testnet-1) must come with its own chain id, so a node that
gives that name with another id would have the key sign on another chain.
assay-worker, behind a HostileNode that renames its local chain so, exits
at start with the reason and signs nothing; assay-faucet named -network=testnet
refuses a node of another network, as assay-worker does."""

import os
import subprocess

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 3, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 3}


def lie(method, params, result):
    if method == "getchainparams" and isinstance(result, dict):
        return dict(result, network="testnet", chain="assay-testnet-1")
    return result


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["w0"], COMPUTE)
    env = dict(os.environ, ASSAY_PASSPHRASE="test-passphrase", ASSAY_TESTING="1")
    hostile = fw.HostileNode(node, lie).start()
    try:
        res = subprocess.run([fw.binary("assay-worker"), f"-datadir={node.datadir}", f"-rpcport={hostile.port}",
                              "-wallet=w0", f"-listen=127.0.0.1:{fw.unused_port(2)}", "-bond=100"],
                             capture_output=True, text=True, env=env, timeout=60)
    finally:
        hostile.stop()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "assay-testnet-1" in out and "a wrong or altered" in out, out
    workers = node.rpc("listworkers")
    assert not any(w.get("address") == addr["w0"] for w in workers), workers  # it registered nothing
    # the faucet, told testnet, against this local node
    res = subprocess.run([fw.binary("assay-faucet"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}",
                          "-network=testnet", "-wallet=w0", f"-listen=127.0.0.1:{fw.unused_port(3)}"],
                         capture_output=True, text=True, env=env, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "is on network local, not testnet" in out, (res.returncode, out)
    print("worker and faucet refused a node lying about its chain")


if __name__ == "__main__":
    fw.run(test)
