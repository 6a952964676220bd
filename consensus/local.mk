# consensus/: compute/ (jobs, assignment, commitments, challenges, spot-checks,
# disputes, slashing, payouts, reference kernels). Depends only on core.
noinst_LIBRARIES += libassay_consensus.a
libassay_consensus_a_SOURCES = \
	consensus/compute/kernels.c consensus/compute/kernels.h
