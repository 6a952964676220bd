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
