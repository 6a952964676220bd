# consensus/: the rules every node applies the same way (docs/protocol.md):
# chain parameters, stateless transaction checks, header rules, execution of
# a block's transactions with the one table of kinds, receipts, and compute/
# (jobs, assignment, commitments, challenges, spot-checks, disputes,
# slashing, payouts, reference kernels). Depends on core and vm (execution
# runs contracts), never on node: no LevelDB, no threads. A program that
# links this library links libassay_vm.a after it.
noinst_LIBRARIES += libassay_consensus.a
libassay_consensus_a_SOURCES = \
	consensus/params.c consensus/params.h \
	consensus/receipt.c consensus/receipt.h \
	consensus/tx_rules.c consensus/tx_rules.h \
	consensus/header.c consensus/header.h \
	consensus/exec.c consensus/exec.h \
	consensus/validators.c consensus/validators.h \
	consensus/compute/field.c consensus/compute/field.h \
	consensus/compute/kernels.c consensus/compute/kernels.h \
	consensus/compute/mlp.c consensus/compute/mlp.h \
	consensus/compute/compute_codec.c consensus/compute/compute_codec.h \
	consensus/compute/compute.c consensus/compute/compute.h \
	consensus/compute/avail.c consensus/compute/avail.h

CONSENSUS_LIBS = libassay_consensus.a libassay_vm.a $(CORE_LIBS)

check_PROGRAMS += tests/unit/test_compute
TESTS += tests/unit/test_compute
tests_unit_test_compute_SOURCES = tests/unit/test_compute.c
tests_unit_test_compute_LDADD = $(CONSENSUS_LIBS)

check_PROGRAMS += tests/unit/test_field
TESTS += tests/unit/test_field
tests_unit_test_field_SOURCES = tests/unit/test_field.c tests/unit/test.h
tests_unit_test_field_LDADD = $(CONSENSUS_LIBS)

check_PROGRAMS += tests/unit/test_tx_rules tests/unit/test_exec
TESTS += tests/unit/test_tx_rules tests/unit/test_exec
tests_unit_test_tx_rules_SOURCES = tests/unit/test_tx_rules.c tests/unit/test.h
tests_unit_test_tx_rules_LDADD = $(CONSENSUS_LIBS)
tests_unit_test_exec_SOURCES = tests/unit/test_exec.c tests/unit/test.h
tests_unit_test_exec_LDADD = $(CONSENSUS_LIBS)

check_PROGRAMS += tests/unit/test_validators
TESTS += tests/unit/test_validators
tests_unit_test_validators_SOURCES = tests/unit/test_validators.c tests/unit/test.h
tests_unit_test_validators_LDADD = $(CONSENSUS_LIBS)

# The fuzz targets with a built-in mutation driver, so make check runs them;
# for real fuzzing build tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer
# (scripts/fuzz; docs/compute.md §12).
check_PROGRAMS += tests/fuzz/fuzz_compute tests/fuzz/fuzz_receipt
TESTS += tests/fuzz/fuzz_compute tests/fuzz/fuzz_receipt
tests_fuzz_fuzz_compute_SOURCES = tests/fuzz/fuzz_compute.c
tests_fuzz_fuzz_compute_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_compute_LDADD = $(CONSENSUS_LIBS)

check_PROGRAMS += tests/fuzz/fuzz_avail
TESTS += tests/fuzz/fuzz_avail
tests_fuzz_fuzz_avail_SOURCES = tests/fuzz/fuzz_avail.c
tests_fuzz_fuzz_avail_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_avail_LDADD = $(CONSENSUS_LIBS)
tests_fuzz_fuzz_receipt_SOURCES = tests/fuzz/fuzz_receipt.c tests/fuzz/fuzz_mutate.h
tests_fuzz_fuzz_receipt_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_receipt_LDADD = $(CONSENSUS_LIBS)
EXTRA_DIST += tests/fuzz/fuzz_receipt.c

check_PROGRAMS += tests/fuzz/fuzz_validators
TESTS += tests/fuzz/fuzz_validators
tests_fuzz_fuzz_validators_SOURCES = tests/fuzz/fuzz_validators.c tests/fuzz/fuzz_mutate.h
tests_fuzz_fuzz_validators_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_validators_LDADD = $(CONSENSUS_LIBS)

# consensus/bft/: the Tendermint engine, its messages, vote sets and the
# validator set (docs/consensus.md). Pure: depends only on core.
libassay_consensus_a_SOURCES += \
	consensus/bft/valset.c consensus/bft/valset.h \
	consensus/bft/msg.c consensus/bft/msg.h \
	consensus/bft/voteset.c consensus/bft/voteset.h \
	consensus/bft/bft.c consensus/bft/bft.h

check_PROGRAMS += tests/unit/test_bft
TESTS += tests/unit/test_bft
tests_unit_test_bft_SOURCES = tests/unit/test_bft.c tests/unit/bft_fixture.h
tests_unit_test_bft_LDADD = $(CONSENSUS_LIBS)

# The decoders' fuzz target with its built-in mutation driver, run by make
# check; scripts/fuzz builds the same file for libFuzzer.
check_PROGRAMS += tests/fuzz/fuzz_bft_msg
TESTS += tests/fuzz/fuzz_bft_msg
tests_fuzz_fuzz_bft_msg_SOURCES = tests/fuzz/fuzz_bft_msg.c tests/fuzz/fuzz_bft.h
tests_fuzz_fuzz_bft_msg_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_bft_msg_LDADD = $(CONSENSUS_LIBS)
