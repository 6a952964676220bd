"""-minfreespace: a node whose datadir's filesystem has less free space than
the floor refuses to start, with one clear error and a non-zero exit, before
it writes a database; `assayd -help` documents the flag and its default; the
same datadir starts once the floor fits. Needs no mount: the floor is set
above any disk."""

import os
import subprocess

import framework as fw

HUGE_MB = 10**12  # a floor of an exabyte: above the free space of any test machine


def test(tmpdir, nodes):
    help_text = subprocess.run([fw.binary("assayd"), "-help"], capture_output=True, text=True).stdout
    assert "-minfreespace=MB" in help_text and "default 100" in help_text, help_text

    node = fw.Node(0, tmpdir, extra_args=["-blocktime=100"])
    nodes.append(node)
    node.start(extra=[f"-minfreespace={HUGE_MB}"], wait=False)
    try:
        rc = node.proc.wait(30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the node started below its -minfreespace floor")
    node.proc = None
    node.log.close()
    assert rc != 0, "refused start exited with 0"
    with open(os.path.join(node.datadir, "stdout.log"), errors="replace") as f:
        errors = [l for l in f.read().splitlines() if l.startswith("assayd: error:")]
    fw.assert_eq(len(errors), 1, f"error lines {errors}")
    want = f"below -minfreespace={HUGE_MB} MB: free space under {node.datadir} and restart"
    assert "disk full" in errors[0] and want in errors[0], errors[0]
    assert not os.path.exists(os.path.join(node.datadir, "chaindata")), "a database was written before the check"

    # A floor the disk meets: the node starts and produces.
    node.start(extra=["-minfreespace=1"])
    node.wait_for_height(2, timeout=30)
    fw.assert_eq(node.stop(), 0, "exit status after a clean stop")


if __name__ == "__main__":
    fw.run(test)
