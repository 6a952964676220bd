# bench/: benchmarks that print figures (never pass/fail on time). Each
# layer may declare its own here or in its local.mk.
noinst_PROGRAMS += bench/bench_chain
bench_bench_chain_SOURCES = bench/bench_chain.c bench/bench_util.h
bench_bench_chain_LDADD = $(NODE_LIBS)
noinst_PROGRAMS += bench/bench_sync
bench_bench_sync_SOURCES = bench/bench_sync.c bench/bench_util.h
bench_bench_sync_LDADD = $(NODE_LIBS)
noinst_PROGRAMS += bench/bench_rpc
bench_bench_rpc_SOURCES = bench/bench_rpc.c bench/bench_util.h
bench_bench_rpc_LDADD = $(NODE_LIBS)
noinst_PROGRAMS += bench/bench_bft
bench_bench_bft_SOURCES = bench/bench_bft.c bench/bench_util.h
bench_bench_bft_LDADD = $(NODE_LIBS)
# mlp-i8 check versus compute (docs/benchmarks.md): links the worker's cpu backend
noinst_PROGRAMS += bench/bench_verify_mlp
bench_bench_verify_mlp_SOURCES = bench/bench_verify_mlp.c
bench_bench_verify_mlp_LDADD = libassay_workerbk.a libassay_consensus.a $(CORE_LIBS)
# SHA-256: our compression paths beside OpenSSL's EVP (docs/benchmarks.md)
noinst_PROGRAMS += bench/bench_hash
bench_bench_hash_SOURCES = bench/bench_hash.c bench/bench_stats.h
bench_bench_hash_LDADD = $(CORE_LIBS)
# validator end of block at 1, 1000 and 30000 records (docs/benchmarks.md)
noinst_PROGRAMS += bench/bench_validators
bench_bench_validators_SOURCES = bench/bench_validators.c
bench_bench_validators_LDADD = libassay_consensus.a $(CORE_LIBS)
# compute worker registry at 1 to 50000 workers (docs/benchmarks.md)
noinst_PROGRAMS += bench/bench_workers
bench_bench_workers_SOURCES = bench/bench_workers.c
bench_bench_workers_LDADD = libassay_consensus.a $(CORE_LIBS)
