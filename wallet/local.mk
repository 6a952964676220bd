# wallet/: two libraries and the assay-cli program.
# libassay_client.a is what every client shares (assay-cli, assay-worker,
# assay-faucet): keystore, passphrase, BIP-39/SLIP-0010 key backup
# (mnemonic), amounts, transaction building, the node's chain parameters, the
# JSON-RPC/HTTP client (libevent's evhttp) and the long-running clients'
# start-up (client_app: node connection, wallet unlock, signal stop;
# client_opts: the flags and assay.conf keys they share). It links
# core, the fee rule of consensus/params and libevent; never the VM or the
# compute state machine. libassay_wallet.a is assay-cli itself; it adds the VM
# (the contract commands) and the compute kernels (job output checks).
noinst_LIBRARIES += libassay_client.a
libassay_client_a_SOURCES = \
	wallet/amount.c wallet/amount.h \
	wallet/keystore.c wallet/keystore.h \
	wallet/mnemonic.c wallet/mnemonic.h wallet/bip39_english.c \
	wallet/passphrase.c wallet/passphrase.h \
	wallet/rpc_client.c wallet/rpc_client.h \
	wallet/chunk_client.c wallet/chunk_client.h \
	wallet/txbuild.c wallet/txbuild.h \
	wallet/client_chain.c wallet/client_chain.h \
	wallet/client_app.c wallet/client_app.h \
	wallet/client_opts.c wallet/client_opts.h \
	wallet/output_check.c wallet/output_check.h
CLIENT_LIBS = libassay_client.a libassay_consensus.a $(CORE_LIBS) $(EVENT_LIBS)

noinst_LIBRARIES += libassay_wallet.a
libassay_wallet_a_SOURCES = \
	wallet/cli.c wallet/cli.h \
	wallet/cli_commands.c \
	wallet/cli_wallet.c wallet/cli_wallet.h \
	wallet/cli_contract.c wallet/cli_contract.h \
	wallet/cli_compute.c wallet/cli_compute.h \
	wallet/cli_proof.c wallet/cli_proof.h \
	wallet/cli_jobspec.c wallet/cli_jobspec.h \
	wallet/cli_preflight.c wallet/cli_preflight.h \
	wallet/cli_faucet.c wallet/cli_faucet.h \
	wallet/cli_validator.c wallet/cli_validator.h \
	wallet/cli_testnet.c wallet/cli_testnet.h

# The VM library gives the CLI the assembler, disassembler, calldata and
# payload codecs of the contract commands; the job commands check outputs
# with the compute kernels (consensus/compute). Both depend on core only.
WALLET_LIBS = libassay_wallet.a libassay_client.a libassay_vm.a libassay_consensus.a $(CORE_LIBS) \
	$(EVENT_LIBS)

bin_PROGRAMS += assay-cli
assay_cli_SOURCES = wallet/cli_main.c
assay_cli_LDADD = $(WALLET_LIBS)

check_PROGRAMS += tests/unit/test_amount tests/unit/test_keystore tests/unit/test_cli tests/unit/test_cli_contract tests/unit/test_cli_jobspec \
	tests/unit/test_rpc_client tests/unit/test_mnemonic
TESTS += tests/unit/test_amount tests/unit/test_keystore tests/unit/test_cli tests/unit/test_cli_contract tests/unit/test_cli_jobspec tests/unit/test_rpc_client \
	tests/unit/test_mnemonic
tests_unit_test_amount_SOURCES = tests/unit/test_amount.c
tests_unit_test_amount_LDADD = $(CLIENT_LIBS)
tests_unit_test_keystore_SOURCES = tests/unit/test_keystore.c
tests_unit_test_keystore_LDADD = $(CLIENT_LIBS)
# BIP-39 and SLIP-0010 against their published vectors in tests/data.
tests_unit_test_mnemonic_SOURCES = tests/unit/test_mnemonic.c tests/unit/test.h
tests_unit_test_mnemonic_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_mnemonic_LDADD = $(CLIENT_LIBS)
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c tests/unit/cli_fixture.h
tests_unit_test_cli_LDADD = $(WALLET_LIBS)
tests_unit_test_cli_contract_SOURCES = tests/unit/test_cli_contract.c tests/unit/cli_fixture.h
tests_unit_test_cli_contract_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_cli_contract_LDADD = $(WALLET_LIBS)
tests_unit_test_cli_jobspec_SOURCES = tests/unit/test_cli_jobspec.c tests/unit/cli_fixture.h
tests_unit_test_cli_jobspec_LDADD = $(WALLET_LIBS)
# job submit --wait and job open against a node that lies about the job.
check_PROGRAMS += tests/unit/test_cli_job
TESTS += tests/unit/test_cli_job
tests_unit_test_cli_job_SOURCES = tests/unit/test_cli_job.c tests/unit/cli_fixture.h
tests_unit_test_cli_job_LDADD = $(WALLET_LIBS)
# The pre-flight verdict, amounts as ASY in node messages, the samples line.
check_PROGRAMS += tests/unit/test_cli_preflight
TESTS += tests/unit/test_cli_preflight
tests_unit_test_cli_preflight_SOURCES = tests/unit/test_cli_preflight.c tests/unit/test.h
tests_unit_test_cli_preflight_LDADD = $(WALLET_LIBS)
# The RPC client against a real evhttp server on loopback, and the
# getchainparams parser.
tests_unit_test_rpc_client_SOURCES = tests/unit/test_rpc_client.c tests/unit/test.h
tests_unit_test_rpc_client_LDADD = $(CLIENT_LIBS)

# The JSON-RPC reply parser with a built-in mutation driver, so make check
# runs it; scripts/fuzz builds the same file with libFuzzer.
check_PROGRAMS += tests/fuzz/fuzz_rpc_reply
TESTS += tests/fuzz/fuzz_rpc_reply
tests_fuzz_fuzz_rpc_reply_SOURCES = tests/fuzz/fuzz_rpc_reply.c
tests_fuzz_fuzz_rpc_reply_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_rpc_reply_LDADD = $(CLIENT_LIBS)
# The check of a fetched job output (size, root) on any bytes a worker serves.
check_PROGRAMS += tests/fuzz/fuzz_output_check
TESTS += tests/fuzz/fuzz_output_check
tests_fuzz_fuzz_output_check_SOURCES = tests/fuzz/fuzz_output_check.c
tests_fuzz_fuzz_output_check_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_output_check_LDADD = $(CLIENT_LIBS)
# The generator of wallet/bip39_english.c (checks the list's SHA-256).
EXTRA_DIST += wallet/bip39_english.sh
# testnet gentx/collect/init and the validator key and transactions; the
# genesis it writes is read back with the node's own parser (node/genesis.c).
check_PROGRAMS += tests/unit/test_cli_testnet
TESTS += tests/unit/test_cli_testnet
tests_unit_test_cli_testnet_SOURCES = tests/unit/test_cli_testnet.c tests/unit/cli_fixture.h tests/unit/test.h
tests_unit_test_cli_testnet_LDADD = libassay_node.a $(WALLET_LIBS)
