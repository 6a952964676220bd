# wallet/: keystore, amounts, transaction building, JSON-RPC client and the
# assay-cli program. Links core, and vm for the contract commands.
noinst_LIBRARIES += libassay_wallet.a
libassay_wallet_a_SOURCES = \
	wallet/amount.c wallet/amount.h \
	wallet/keystore.c wallet/keystore.h \
	wallet/passphrase.c wallet/passphrase.h \
	wallet/rpc_client.c wallet/rpc_client.h \
	wallet/txbuild.c wallet/txbuild.h \
	wallet/cli.c wallet/cli.h \
	wallet/cli_commands.c \
	wallet/cli_contract.c wallet/cli_contract.h \
	wallet/cli_compute.c wallet/cli_compute.h \
	wallet/cli_proof.c wallet/cli_proof.h \
	wallet/cli_jobspec.c wallet/cli_jobspec.h

# The VM library gives the CLI the assembler, disassembler, calldata and
# payload codecs of the contract commands; the job commands check outputs
# with the compute kernels (consensus/compute). Both depend on core only.
WALLET_LIBS = libassay_wallet.a libassay_vm.a libassay_consensus.a $(CORE_LIBS)

bin_PROGRAMS += assay-cli
assay_cli_SOURCES = wallet/cli_main.c
assay_cli_LDADD = $(WALLET_LIBS)

check_PROGRAMS += test_amount test_keystore test_cli test_cli_contract test_cli_jobspec
TESTS += test_amount test_keystore test_cli test_cli_contract test_cli_jobspec
test_amount_SOURCES = tests/unit/test_amount.c
test_amount_LDADD = $(WALLET_LIBS)
test_keystore_SOURCES = tests/unit/test_keystore.c
test_keystore_LDADD = $(WALLET_LIBS)
test_cli_SOURCES = tests/unit/test_cli.c
test_cli_LDADD = $(WALLET_LIBS)
test_cli_contract_SOURCES = tests/unit/test_cli_contract.c
test_cli_contract_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
test_cli_contract_LDADD = $(WALLET_LIBS)
test_cli_jobspec_SOURCES = tests/unit/test_cli_jobspec.c
test_cli_jobspec_LDADD = $(WALLET_LIBS)
