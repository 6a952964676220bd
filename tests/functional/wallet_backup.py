"""Key backup and restore against a real node: wallet create shows 24 backup
words once; a wallet deleted and restored from its words (a file, or typed on
a terminal) has the same address and can spend what was sent to it; export
--seed and import round trip; a passphrase change refuses the old one; delete
needs the name typed or --yes; and every command that would make a wallet over
an existing name refuses before it asks for a passphrase, leaving the file as
it was."""

import fcntl
import json
import os
import select
import subprocess
import termios
import time

import framework as fw


def bip39_words():
    """The English wordlist, read from the project's copy of it."""
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "wallet", "bip39_english.c")
    with open(path) as f:
        words = re.findall(r'^\t"([a-z]+)",$', f.read(), re.M)
    assert len(words) == 2048, len(words)
    return words


def bad_checksum_swap(words):
    """words with two of them swapped so that the BIP-39 checksum fails (a
    swap keeps it with probability 1/256, so the first swap that breaks it
    is taken: a test that swapped the first two words failed that often)."""
    import hashlib
    index = {w: i for i, w in enumerate(bip39_words())}

    def valid(ws):
        bits = "".join(format(index[w], "011b") for w in ws)
        ent, check = bits[:len(bits) * 32 // 33], bits[len(bits) * 32 // 33:]
        digest = hashlib.sha256(int(ent, 2).to_bytes(len(ent) // 8, "big")).digest()
        return format(digest[0], "08b")[:len(check)] == check

    assert valid(words), "the phrase itself should pass"
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            if words[i] != words[j]:
                out = list(words)
                out[i], out[j] = out[j], out[i]
                if not valid(out):
                    return out
    raise AssertionError("no swap breaks the checksum")

WORD_COUNT = 24


def cli_env(passphrase="test-passphrase", **extra):
    env = dict(os.environ)
    env.pop("ASSAY_PASSPHRASE", None)
    env.pop("ASSAY_NEW_PASSPHRASE", None)
    if passphrase is not None:
        env["ASSAY_PASSPHRASE"] = passphrase
    env.update({"ASSAY_SCRYPT_N": "1024", "ASSAY_TESTING": "1"}, **extra)
    return env


def cli_no_tty(node, *args, env):
    """assay-cli in a new session with no controlling terminal, so a prompt
    cannot be answered: a command that asks fails instead of waiting."""
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL, start_new_session=True)


def cli_tty(node, args, answers, env, timeout=60):
    """assay-cli with a pseudo-terminal as its controlling terminal (what
    /dev/tty opens); each answer is typed after the next prompt ending in ':'.
    Returns (returncode, stdout, stderr, what the terminal showed)."""
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}"] + list(args)
    master, slave = os.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=take_terminal,
                            pass_fds=(slave,))
    os.close(slave)
    shown, pending = b"", list(answers)
    deadline = time.time() + timeout
    # Keep reading the terminal until the program exits: a pty whose output
    # is not drained holds the closing process.
    while time.time() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                shown += os.read(master, 4096)
            except OSError:
                break
        if pending and shown.rstrip().endswith(b":"):
            os.write(master, pending.pop(0).encode() + b"\n")
            shown += b"\n<typed>\n"
    out, err = proc.communicate(timeout=timeout)
    os.close(master)
    return proc.returncode, out, err, shown.decode(errors="replace")


def wallet_file(node, name):
    return os.path.join(node.datadir, "wallet", name + ".json")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test(tmpdir, nodes):
    node = fw.Node(0, tmpdir, extra_args=["-blocktime=200"]).start()
    nodes.append(node)
    node.cli("wallet", "import-dev")
    dev = node.cli("wallet", "address", "dev").stdout.strip()

    # create: 24 words, once, in both forms; they check out as BIP-39.
    res = node.cli("wallet", "create", "alice")
    lines = [l for l in res.stdout.splitlines() if l.strip()[:1].isdigit()]
    words = [tok for l in lines for tok in l.split() if not tok.endswith(".")]
    fw.assert_eq(len(words), WORD_COUNT, "words shown by wallet create")
    alice = node.cli("wallet", "address", "alice").stdout.strip()
    assert alice in res.stdout, res.stdout
    made = node.cli_json("wallet", "create", "bob")
    phrase = made["mnemonic"]
    fw.assert_eq(len(phrase.split()), WORD_COUNT, "--json mnemonic")
    fw.assert_eq(made["derivation_path"], "m/44'/7359'/0'/0'/0'", "derivation path")
    assert phrase not in node.cli("wallet", "show", "bob").stdout, "show never repeats the words"
    with open(wallet_file(node, "bob")) as f:
        assert phrase not in f.read(), "the key file does not hold the words"

    # Fund bob, delete him, restore from the words in a file: same address,
    # and the restored key spends.
    node.cli("send", "--from", "dev", "--to", made["address"], "--amount", "5", "--wait")
    res = cli_no_tty(node, "wallet", "delete", "bob", env=cli_env())
    assert res.returncode == 1 and "--yes" in res.stderr, res
    assert os.path.exists(wallet_file(node, "bob")), "delete without a confirmation kept the file"
    node.cli("wallet", "delete", "bob", "--yes")
    assert not os.path.exists(wallet_file(node, "bob"))
    words_file = os.path.join(tmpdir, "bob.words")
    with open(words_file, "w") as f:
        f.write("  " + phrase.upper().replace(" ", "\n") + "\n")  # as a person might keep them
    restored = node.cli_json("wallet", "restore", "bob", "--mnemonic-file", words_file)
    fw.assert_eq(restored["address"], made["address"], "restored address")
    res = node.cli("send", "--from", "bob", "--to", dev, "--amount", "1", "--wait")
    assert "ok" in res.stdout, res.stdout

    # Restore over an existing name, bad words, a wrong checksum: refused.
    before = read_bytes(wallet_file(node, "bob"))
    res = node.cli("wallet", "restore", "bob", "--mnemonic-file", words_file, check=False)
    assert res.returncode == 1 and "already exists" in res.stderr, res.stderr
    fw.assert_eq(read_bytes(wallet_file(node, "bob")), before, "bob's file after a refused restore")
    swapped = bad_checksum_swap(phrase.split())
    bad = os.path.join(tmpdir, "bad.words")
    for text, why in ((" ".join(swapped), "checksum"), ("abandon " * 23 + "notaword", "word 24"),
                      ("abandon " * 11, "11 words")):
        with open(bad, "w") as f:
            f.write(text)
        res = node.cli("wallet", "restore", "carol", "--mnemonic-file", bad, check=False)
        assert res.returncode == 1 and why in res.stderr, (why, res.stderr)
        assert "notaword" not in res.stderr, "a typed word reached the error"
        assert not os.path.exists(wallet_file(node, "carol"))
    # a file too long (4096 bytes and more) or with a NUL byte is no backup
    for data, why in ((b"abandon " * 512, "is longer than 4095 bytes"), (b"abandon\0 about", "holds a NUL byte")):
        with open(bad, "wb") as f:
            f.write(data)
        res = node.cli("wallet", "restore", "carol", "--mnemonic-file", bad, check=False)
        assert res.returncode == 1 and why in res.stderr, (why, res.stderr)
        assert not os.path.exists(wallet_file(node, "carol"))
    # the words through a pipe: read to its end
    cmd = [fw.binary("assay-cli"), f"-datadir={node.datadir}", f"-rpcport={node.rpcport}", "wallet", "restore",
           "dora", "--mnemonic-file", "/dev/stdin"]
    piped = subprocess.run(cmd, input=phrase + "\n", capture_output=True, text=True, env=cli_env(), timeout=60)
    assert piped.returncode == 0, piped.stderr
    fw.assert_eq(node.cli("wallet", "address", "dora").stdout.strip(), made["address"], "restore from a pipe")

    # The same words typed on a terminal, with the passphrase asked there too.
    rc, out, err, shown = cli_tty(node, ["wallet", "restore", "carol"],
                                  [phrase, "terminal-pass", "terminal-pass"], cli_env(None))
    assert rc == 0, (rc, out, err, shown)
    assert phrase not in shown, "the words were echoed"
    fw.assert_eq(node.cli("wallet", "address", "carol").stdout.strip(), made["address"], "typed restore")
    res = node.cli("wallet", "export", "carol", "--seed", "--yes", passphrase="terminal-pass")
    carol_seed = res.stdout.strip()

    # export --seed and import: a round trip to the same address.
    res = cli_no_tty(node, "wallet", "export", "alice", "--seed", env=cli_env())
    assert res.returncode == 1 and "--yes" in res.stderr and not res.stdout, res
    seed = node.cli("wallet", "export", "alice", "--seed", "--yes").stdout.strip()
    fw.assert_eq(len(bytes.fromhex(seed)), 32, "exported seed")
    rc, out, err, shown = cli_tty(node, ["wallet", "export", "alice", "--seed"], ["alic"], cli_env())
    assert rc == 1 and "nothing was done" in err and seed not in out, (rc, out, err)
    rc, out, err, shown = cli_tty(node, ["wallet", "export", "alice", "--seed"], ["alice"], cli_env())
    assert rc == 0 and out.strip() == seed, (rc, out, err)
    fw.assert_eq(carol_seed, node.cli("wallet", "export", "bob", "--seed", "--yes").stdout.strip(),
                 "typed and file restores hold one seed")
    seed_file = os.path.join(tmpdir, "alice.seed")
    with open(seed_file, "w") as f:
        f.write(seed + "\n")
    node.cli("wallet", "import", "alice2", "--seed-file", seed_file)
    fw.assert_eq(node.cli("wallet", "address", "alice2").stdout.strip(), alice, "imported address")
    res = node.cli("wallet", "import", "alice", "--seed-file", seed_file, check=False)
    assert res.returncode == 1 and "already exists" in res.stderr, res.stderr
    with open(seed_file, "w") as f:
        f.write(seed[:-2] + "\n")
    res = node.cli("wallet", "import", "alice3", "--seed-file", seed_file, check=False)
    assert res.returncode == 1 and "64 hex digits" in res.stderr, res.stderr
    res = node.cli("wallet", "import", "alice3", check=False)
    assert res.returncode == 2 and "--seed-file" in res.stderr, res.stderr

    # The encrypted file: export prints it as stored.
    res = node.cli("wallet", "export", "alice")
    fw.assert_eq(res.stdout.encode(), read_bytes(wallet_file(node, "alice")), "exported key file")
    fw.assert_eq(json.loads(res.stdout)["address"], alice, "exported file's address")

    # passphrase: the old one is then refused, the new one unlocks the same key.
    res = node.cli("wallet", "passphrase", "alice", passphrase="wrong", check=False,
                   env_extra={"ASSAY_NEW_PASSPHRASE": "new-pass"})
    assert res.returncode == 1 and "wrong passphrase" in res.stderr, res.stderr
    res = cli_no_tty(node, "wallet", "passphrase", "alice", env=cli_env())
    assert res.returncode == 1 and "ASSAY_NEW_PASSPHRASE" in res.stderr, res
    node.cli("wallet", "passphrase", "alice", env_extra={"ASSAY_NEW_PASSPHRASE": "new-pass"})
    res = node.cli("wallet", "export", "alice", "--seed", "--yes", check=False)
    assert res.returncode == 1 and "wrong passphrase" in res.stderr and not res.stdout, res
    res = node.cli("wallet", "export", "alice", "--seed", "--yes", passphrase="new-pass")
    fw.assert_eq(res.stdout.strip(), seed, "seed after a passphrase change")
    fw.assert_eq(node.cli("wallet", "address", "alice").stdout.strip(), alice, "address after a change")

    # delete: the name typed wrong keeps the file; typed right removes it.
    rc, out, err, shown = cli_tty(node, ["wallet", "delete", "alice2"], ["alice"], cli_env())
    assert rc == 1 and "nothing was done" in err, (rc, out, err)
    assert os.path.exists(wallet_file(node, "alice2"))
    assert alice in shown, "the prompt names the address"
    rc, out, err, shown = cli_tty(node, ["wallet", "delete", "alice2"], ["alice2"], cli_env())
    assert rc == 0 and not os.path.exists(wallet_file(node, "alice2")), (rc, out, err)
    res = node.cli("wallet", "delete", "alice2", "--yes", check=False)
    assert res.returncode == 1 and "unknown wallet" in res.stderr, res.stderr

    # create over an existing name: refused before any passphrase is asked
    # (no terminal and no ASSAY_PASSPHRASE: asking would fail differently),
    # and the file is untouched, even a corrupt one.
    before = read_bytes(wallet_file(node, "alice"))
    for args in (("wallet", "create", "alice"), ("wallet", "restore", "alice", "--mnemonic-file", words_file),
                 ("wallet", "import", "alice", "--seed-file", seed_file)):
        res = cli_no_tty(node, *args, env=cli_env(None))
        assert res.returncode == 1 and "already exists" in res.stderr, (args, res.stderr)
        assert "passphrase" not in res.stderr, (args, res.stderr)
    res = node.cli("wallet", "create", "alice", check=False)
    assert res.returncode == 1 and "already exists" in res.stderr, res.stderr
    fw.assert_eq(read_bytes(wallet_file(node, "alice")), before, "alice's file after refused creates")
    with open(wallet_file(node, "broken"), "w") as f:
        f.write("{not json")
    res = node.cli("wallet", "create", "broken", check=False)
    assert res.returncode == 1 and "already exists" in res.stderr, res.stderr
    fw.assert_eq(read_bytes(wallet_file(node, "broken")), b"{not json", "a corrupt file is kept")


if __name__ == "__main__":
    fw.run(test)
