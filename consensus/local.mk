# consensus/: compute/ (jobs, assignment, commitments, challenges, spot-checks,
# disputes, slashing, payouts, reference kernels). Depends only on core.
noinst_LIBRARIES += libassay_consensus.a
libassay_consensus_a_SOURCES = \
	consensus/params.c consensus/params.h \
	consensus/compute/kernels.c consensus/compute/kernels.h \
	consensus/compute/compute_codec.c consensus/compute/compute_codec.h \
	consensus/compute/compute.c consensus/compute/compute.h

check_PROGRAMS += test_compute
TESTS += test_compute
test_compute_SOURCES = tests/unit/test_compute.c
test_compute_LDADD = libassay_consensus.a $(CORE_LIBS)

# The fuzz target with a built-in mutation driver, so make check runs it;
# for real fuzzing build tests/fuzz/fuzz_compute.c with clang -fsanitize=fuzzer
# (docs/compute.md §12).
check_PROGRAMS += fuzz_compute
TESTS += fuzz_compute
fuzz_compute_SOURCES = tests/fuzz/fuzz_compute.c
fuzz_compute_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
fuzz_compute_LDADD = libassay_consensus.a $(CORE_LIBS)

# consensus/bft/: the Tendermint engine, its messages, vote sets and the
# validator set (docs/consensus.md). Pure: depends only on core.
libassay_consensus_a_SOURCES += \
	consensus/bft/valset.c consensus/bft/valset.h \
	consensus/bft/msg.c consensus/bft/msg.h \
	consensus/bft/voteset.c consensus/bft/voteset.h \
	consensus/bft/bft.c consensus/bft/bft.h

check_PROGRAMS += tests/unit/test_bft
TESTS += tests/unit/test_bft
tests_unit_test_bft_SOURCES = tests/unit/test_bft.c
tests_unit_test_bft_LDADD = libassay_consensus.a $(CORE_LIBS)

# The decoders' fuzz target with its built-in mutation driver, run by make
# check; scripts/fuzz builds the same file for libFuzzer.
check_PROGRAMS += tests/fuzz/fuzz_bft_msg
TESTS += tests/fuzz/fuzz_bft_msg
tests_fuzz_fuzz_bft_msg_SOURCES = tests/fuzz/fuzz_bft_msg.c
tests_fuzz_fuzz_bft_msg_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_bft_msg_LDADD = libassay_consensus.a $(CORE_LIBS)
