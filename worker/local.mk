# worker/: compute backends (libassay_workerbk.a). The assay-worker program
# that links them is declared here by its owner.
noinst_LIBRARIES += libassay_workerbk.a
libassay_workerbk_a_SOURCES = \
	worker/backend.h worker/backend_cpu.c

check_PROGRAMS += test_kernels
TESTS += test_kernels
test_kernels_SOURCES = tests/unit/test_kernels.c
test_kernels_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS)

if HAVE_CBLAS
noinst_PROGRAMS += bench_gemm
bench_gemm_SOURCES = bench/bench_gemm.c
bench_gemm_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS) $(BLAS_LIBS)
endif

noinst_PROGRAMS += bench_verify
bench_verify_SOURCES = bench/bench_verify.c
bench_verify_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS)

if HAVE_OPENCL
libassay_workerbk_a_SOURCES += worker/backend_opencl.c
check_PROGRAMS += test_compute_opencl
TESTS += test_compute_opencl
test_compute_opencl_SOURCES = tests/unit/test_compute_opencl.c
test_compute_opencl_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS) $(OPENCL_LIBS)
endif
