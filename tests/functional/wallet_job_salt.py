"""A job's salt needs no backup of its own and one passphrase (docs/backup.md
"Job salts", docs/compute.md §4, §14). `job submit --wait` reads the
passphrase once, from a FIFO that counts its readers, and still opens the
salt itself (before, it unlocked the wallet again to sign the job_salt).
A job submitted without --wait is opened from a fresh data directory that
holds only the wallet restored from its seed: the salt derives from the
seed and the job id, so the restored wallet opens its job and the job is
paid. Another wallet cannot open it: its salt does not match and nothing
is sent."""

import os
import shutil
import threading
import time

import framework as fw

COMPUTE = {"commit_window": 10, "reveal_window": 5, "upload_window": 5, "dispute_window": 3, "min_bond": 10**9,
           "samples_k": 2, "salt_window": 5}
JOB = ["--kind", "matmul-i8", "--m", "16", "--n", "16", "--k", "8", "--tile-rows", "8", "--tile-cols", "8",
       "--reward", "2", "--deadline", "60"]


def test(tmpdir, nodes):
    node, addr = fw.local_compute_chain(tmpdir, nodes, ["alice", "bob", "w0"], COMPUTE)
    nodes.append(fw.Worker(node, "w0", 0, ["-bond=100"]).start())

    # --- one unlock for job submit --wait ---
    fifo = os.path.join(tmpdir, "passphrase.fifo")
    os.mkfifo(fifo)
    done, reads = threading.Event(), []

    def feed():
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fails until a reader opens it
            except OSError:
                time.sleep(0.01)
                continue
            reads.append(time.time())
            os.write(fd, b"test-passphrase\n")
            os.close(fd)
            time.sleep(0.3)  # the reader has read its line and closed by then

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        res = node.cli(f"-passphrase-file={fifo}", "job", "submit", "--from", "alice", *JOB, "--wait",
                       "--timeout", "60", check=False)
    finally:
        done.set()
        feeder.join()
    assert res.returncode == 0, res.stderr
    job_id = res.stdout.split()[0]
    assert "salt opened" in res.stderr, res.stderr
    job = node.rpc("getjob", job_id)
    assert job["salt"] is not None, job
    fw.assert_eq(len(reads), 1, "passphrase reads by job submit --wait")

    # --- the salt survives the loss of everything but the key ---
    res = node.cli("job", "submit", "--from", "bob", *JOB)
    job_id = res.stdout.split()[0]
    seed_file = os.path.join(tmpdir, "bob.seed")
    with open(seed_file, "w") as f:
        f.write(node.cli("wallet", "export", "bob", "--seed", "--yes").stdout.strip() + "\n")
    fresh = fw.Node(0, os.path.join(tmpdir, "restored"), network="local")  # a data directory only: never started
    fresh.rpcport = node.rpcport
    shutil.copy(os.path.join(node.datadir, ".cookie"), fresh.datadir)
    fresh.cli("wallet", "import", "bob", "--seed-file", seed_file)
    fresh.cli("wallet", "create", "carol")
    assert not os.path.exists(os.path.join(fresh.datadir, "wallet", "bob.salts"))

    def sealed():
        try:
            return node.rpc("getjob", job_id).get("sealed_height") is not None
        except fw.RPCError:  # its job_submit not mined yet
            return False

    fw.wait_until(sealed, timeout=30, what="every slot committed")
    wrong = fresh.cli("job", "open", job_id, "--from", "carol", check=False)
    assert wrong.returncode != 0 and "did not submit job" in wrong.stderr, wrong.stderr
    opened = fresh.cli("job", "open", job_id, "--from", "bob", "--wait")
    assert "salt opened" in opened.stdout + opened.stderr, opened
    job = node.rpc("getjob", job_id)
    assert job["salt"] is not None, job
    job, _ = fw.wait_job(node, job_id, ("paid", "failed", "refunded"), timeout=60)
    fw.assert_eq(job["state"], "paid", "the job opened by the restored wallet")


if __name__ == "__main__":
    fw.run(test)
