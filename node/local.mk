# node/: the full node (chain, state, mempool, RPC) and assayd.
noinst_LIBRARIES += libassay_node.a
libassay_node_a_SOURCES = \
	node/genesis.c node/genesis.h \
	node/state.c node/state.h \
	node/chain.c node/chain.h \
	node/sigcheck.c node/sigcheck.h \
	node/sigcache.c node/sigcache.h \
	node/mempool.c node/mempool.h \
	node/rpc.c node/rpc.h node/rpc_json.c \
	node/config.c node/config.h \
	node/node.c node/node.h node/node_rpc.c \
	node/producer.c node/producer.h \
	node/consensus.c node/consensus.h node/rpc_consensus.c \
	node/conswal.c node/conswal.h node/signstate.c node/signstate.h \
	node/txaccept.c node/txaccept.h \
	node/rpc_contract.c \
	node/node_net.c node/rpc_net.c \
	node/rpc_compute.c \
	node/rpc_simulate.c \
	node/rpc_validators.c \
	node/chunkstore.c node/chunkstore.h node/node_chunks.c node/rpc_chunks.c

# rpc_extra: bitcoind-style methods, -addrindex, long polls (docs/rpc.md)
libassay_node_a_SOURCES += node/rpc_extra.c

NODE_LIBS = libassay_node.a libassay_store.a libassay_consensus.a libassay_vm.a libassay_net.a $(CORE_LIBS) $(LEVELDB_LIBS) $(EVENT_LIBS)

bin_PROGRAMS += assayd
assayd_SOURCES = node/assayd.c
assayd_LDADD = $(NODE_LIBS)

check_PROGRAMS += tests/unit/test_chain tests/unit/test_mempool tests/unit/test_genesis tests/unit/test_config
TESTS += tests/unit/test_chain tests/unit/test_mempool tests/unit/test_genesis tests/unit/test_config
check_PROGRAMS += tests/unit/test_consensus_wal
TESTS += tests/unit/test_consensus_wal
tests_unit_test_consensus_wal_SOURCES = tests/unit/test_consensus_wal.c tests/unit/bft_fixture.h tests/unit/test.h
tests_unit_test_consensus_wal_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_rpc_json
TESTS += tests/fuzz/fuzz_rpc_json
tests_fuzz_fuzz_rpc_json_SOURCES = tests/fuzz/fuzz_rpc_json.c
tests_fuzz_fuzz_rpc_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_rpc_json_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_conswal
TESTS += tests/fuzz/fuzz_conswal
tests_fuzz_fuzz_conswal_SOURCES = tests/fuzz/fuzz_conswal.c tests/fuzz/fuzz_bft.h
tests_fuzz_fuzz_conswal_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DRIVER
tests_fuzz_fuzz_conswal_LDADD = $(NODE_LIBS)
tests_unit_test_chain_SOURCES = tests/unit/test_chain.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_chain_LDADD = $(NODE_LIBS)
tests_unit_test_mempool_SOURCES = tests/unit/test_mempool.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_mempool_LDADD = $(NODE_LIBS)
tests_unit_test_genesis_SOURCES = tests/unit/test_genesis.c tests/unit/test.h
tests_unit_test_genesis_LDADD = $(NODE_LIBS)
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/test.h
tests_unit_test_config_LDADD = $(NODE_LIBS)

check_PROGRAMS += tests/unit/test_chunkstore
TESTS += tests/unit/test_chunkstore
tests_unit_test_chunkstore_SOURCES = tests/unit/test_chunkstore.c tests/unit/test.h
tests_unit_test_chunkstore_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_state
TESTS += tests/unit/test_state
tests_unit_test_state_SOURCES = tests/unit/test_state.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_state_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_reindex
TESTS += tests/unit/test_reindex
tests_unit_test_reindex_SOURCES = tests/unit/test_reindex.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_reindex_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_exec_faults
TESTS += tests/unit/test_exec_faults
tests_unit_test_exec_faults_SOURCES = tests/unit/test_exec_faults.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_exec_faults_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_node_net tests/unit/test_rpc
TESTS += tests/unit/test_node_net tests/unit/test_rpc
tests_unit_test_rpc_SOURCES = tests/unit/test_rpc.c tests/unit/test.h
tests_unit_test_rpc_LDADD = $(NODE_LIBS)
tests_unit_test_node_net_SOURCES = tests/unit/test_node_net.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_node_net_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_node_consensus
TESTS += tests/unit/test_node_consensus
tests_unit_test_node_consensus_SOURCES = tests/unit/test_node_consensus.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_node_consensus_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_rpc_defer
TESTS += tests/unit/test_rpc_defer
tests_unit_test_rpc_defer_SOURCES = tests/unit/test_rpc_defer.c tests/unit/rpc_fixture.h tests/unit/test.h
tests_unit_test_rpc_defer_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_rpc_offload
TESTS += tests/unit/test_rpc_offload
tests_unit_test_rpc_offload_SOURCES = tests/unit/test_rpc_offload.c tests/unit/rpc_fixture.h tests/unit/test.h
tests_unit_test_rpc_offload_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_rpc_simulate
TESTS += tests/unit/test_rpc_simulate
tests_unit_test_rpc_simulate_SOURCES = tests/unit/test_rpc_simulate.c tests/unit/node_fixture.h tests/unit/rpc_fixture.h \
	tests/unit/rpc_node_fixture.h tests/unit/test.h
tests_unit_test_rpc_simulate_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_rpc_extra
TESTS += tests/unit/test_rpc_extra
tests_unit_test_rpc_extra_SOURCES = tests/unit/test_rpc_extra.c tests/unit/node_fixture.h tests/unit/rpc_fixture.h tests/unit/test.h
tests_unit_test_rpc_extra_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_txaccept
TESTS += tests/unit/test_txaccept
tests_unit_test_txaccept_SOURCES = tests/unit/test_txaccept.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_txaccept_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_sigcache
TESTS += tests/unit/test_sigcache
tests_unit_test_sigcache_SOURCES = tests/unit/test_sigcache.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_sigcache_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_chain_vectors
TESTS += tests/unit/test_chain_vectors
tests_unit_test_chain_vectors_SOURCES = tests/unit/test_chain_vectors.c tests/unit/node_fixture.h tests/unit/test.h
tests_unit_test_chain_vectors_LDADD = $(NODE_LIBS)
check_PROGRAMS += tests/unit/test_signstate
TESTS += tests/unit/test_signstate
tests_unit_test_signstate_SOURCES = tests/unit/test_signstate.c tests/unit/test.h
tests_unit_test_signstate_LDADD = $(NODE_LIBS)
# tx_id wrapped: the test counts the transactions an RPC call hashes
check_PROGRAMS += tests/unit/test_rpc_mempool
TESTS += tests/unit/test_rpc_mempool
tests_unit_test_rpc_mempool_SOURCES = tests/unit/test_rpc_mempool.c tests/unit/node_fixture.h tests/unit/rpc_fixture.h \
	tests/unit/rpc_node_fixture.h tests/unit/test.h
tests_unit_test_rpc_mempool_LDFLAGS = -Wl,--wrap=tx_id
tests_unit_test_rpc_mempool_LDADD = $(NODE_LIBS)
