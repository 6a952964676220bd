# node/ storage: the sparse Merkle tree and the LevelDB store, a library of
# their own (libassay_store.a) so tests and benchmarks link just this layer.
noinst_LIBRARIES += libassay_store.a
libassay_store_a_SOURCES = \
	node/smt.c node/smt.h \
	node/store.c node/store.h

STORE_LIBS = libassay_store.a $(CORE_LIBS) $(LEVELDB_LIBS)

check_PROGRAMS += tests/unit/test_smt tests/unit/test_store
TESTS += tests/unit/test_smt tests/unit/test_store
tests_unit_test_smt_SOURCES = tests/unit/test_smt.c tests/unit/test.h
tests_unit_test_smt_LDADD = $(STORE_LIBS)
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/test.h
tests_unit_test_store_LDADD = $(STORE_LIBS)


noinst_PROGRAMS += bench/bench_smt
bench_bench_smt_SOURCES = bench/bench_smt.c
bench_bench_smt_LDADD = $(STORE_LIBS)
