# worker/: compute backends (libassay_workerbk.a), the worker's pure job
# helpers (libassay_worker.a: kept-level Merkle tree, reveals, test-only
# corruption) and the assay-worker program. The worker talks to a node over
# JSON-RPC with the clients' shared library (libassay_client.a, wallet/);
# it links core, the compute kernels and codecs of consensus/ and the fee
# rule, and never node/, the VM, the CLI or the compute state machine.
noinst_LIBRARIES += libassay_workerbk.a
libassay_workerbk_a_SOURCES = \
	worker/backend.h worker/backend_cpu.c

noinst_LIBRARIES += libassay_worker.a
libassay_worker_a_SOURCES = \
	worker/outtree.c worker/outtree.h \
	worker/work.c worker/work.h \
	worker/upload.c worker/upload.h

WORKER_LIBS = libassay_worker.a libassay_workerbk.a $(CLIENT_LIBS)

bin_PROGRAMS += assay-worker
assay_worker_SOURCES = worker/main.c
assay_worker_LDADD = $(WORKER_LIBS)

# What assay-worker links, by its symbols (no VM, CLI or state machine).
TESTS += tests/unit/worker_links.sh
EXTRA_DIST += tests/unit/worker_links.sh tests/unit/links_check.sh

check_PROGRAMS += tests/unit/test_worker
TESTS += tests/unit/test_worker
tests_unit_test_worker_SOURCES = tests/unit/test_worker.c tests/unit/test.h
tests_unit_test_worker_LDADD = libassay_worker.a libassay_consensus.a $(CORE_LIBS)

check_PROGRAMS += tests/unit/test_kernels
TESTS += tests/unit/test_kernels
tests_unit_test_kernels_SOURCES = tests/unit/test_kernels.c
tests_unit_test_kernels_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS)

if HAVE_CBLAS
noinst_PROGRAMS += bench/bench_gemm
bench_bench_gemm_SOURCES = bench/bench_gemm.c
bench_bench_gemm_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS) $(BLAS_LIBS)
endif

noinst_PROGRAMS += bench/bench_verify
bench_bench_verify_SOURCES = bench/bench_verify.c
bench_bench_verify_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS)

if HAVE_OPENCL
libassay_workerbk_a_SOURCES += worker/backend_opencl.c
check_PROGRAMS += tests/unit/test_compute_opencl
TESTS += tests/unit/test_compute_opencl
tests_unit_test_compute_opencl_SOURCES = tests/unit/test_compute_opencl.c
tests_unit_test_compute_opencl_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS) $(OPENCL_LIBS)
assay_worker_LDADD += $(OPENCL_LIBS)
endif

check_PROGRAMS += tests/unit/test_avail
TESTS += tests/unit/test_avail
tests_unit_test_avail_SOURCES = tests/unit/test_avail.c tests/unit/test.h
tests_unit_test_avail_LDADD = libassay_worker.a libassay_consensus.a $(CORE_LIBS)
