# consensus/: compute/ (jobs, assignment, commitments, challenges, spot-checks,
# disputes, slashing, payouts, reference kernels). Depends only on core.
noinst_LIBRARIES += libassay_consensus.a
libassay_consensus_a_SOURCES = \
	consensus/compute/kernels.c consensus/compute/kernels.h \
	consensus/compute/compute_codec.c consensus/compute/compute_codec.h \
	consensus/compute/compute.c consensus/compute/compute.h

check_PROGRAMS += test_compute
TESTS += test_compute
test_compute_SOURCES = tests/unit/test_compute.c
test_compute_LDADD = libassay_consensus.a $(CORE_LIBS)
