# core/: primitives every other layer uses.
noinst_LIBRARIES += libassay_core.a
libassay_core_a_SOURCES = \
	core/error.c core/error.h \
	core/buf.c core/buf.h \
	core/sha256.c core/sha256.h \
	core/keys.c core/keys.h \
	core/bech32.c core/bech32.h \
	core/network.c core/network.h \
	core/merkle.c core/merkle.h \
	core/smt_proof.c core/smt_proof.h \
	core/vrf.c core/vrf.h \
	core/tx.c core/tx.h \
	core/block.c core/block.h \
	core/ledger.c core/ledger.h \
	core/log.c core/log.h

# Unit tests of core/ (tests/unit/test_<module>.c), run by make check.
CORE_TESTS = test_buf test_sha256 test_keys test_bech32 test_merkle test_tx test_block \
	test_ledger test_vrf test_network
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
test_buf_SOURCES = tests/unit/test_buf.c
test_buf_LDADD = $(CORE_LIBS)
test_sha256_SOURCES = tests/unit/test_sha256.c
test_sha256_LDADD = $(CORE_LIBS)
test_keys_SOURCES = tests/unit/test_keys.c
test_keys_LDADD = $(CORE_LIBS)
test_bech32_SOURCES = tests/unit/test_bech32.c
test_bech32_LDADD = $(CORE_LIBS)
test_merkle_SOURCES = tests/unit/test_merkle.c
test_merkle_LDADD = $(CORE_LIBS)
test_tx_SOURCES = tests/unit/test_tx.c
test_tx_LDADD = $(CORE_LIBS)
test_block_SOURCES = tests/unit/test_block.c
test_block_LDADD = $(CORE_LIBS)
test_ledger_SOURCES = tests/unit/test_ledger.c
test_ledger_LDADD = $(CORE_LIBS)
test_vrf_SOURCES = tests/unit/test_vrf.c
test_vrf_LDADD = $(CORE_LIBS)
check_PROGRAMS += test_smt_proof
TESTS += test_smt_proof
test_smt_proof_SOURCES = tests/unit/test_smt_proof.c tests/unit/test.h
test_smt_proof_LDADD = $(CORE_LIBS)
test_network_SOURCES = tests/unit/test_network.c
test_network_LDADD = $(CORE_LIBS)

# Fuzz targets are built and run by scripts/fuzz, not by make (they need
# clang's libFuzzer); see tests/fuzz/README.md. Files are named one by one:
# a VPATH build has a tests/fuzz of its own (objects), which make dist
# would copy in place of the sources.
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus \
	tests/fuzz/fuzz_asm.c tests/fuzz/fuzz_bech32.c tests/fuzz/fuzz_block.c \
	tests/fuzz/fuzz_codec.c tests/fuzz/fuzz_net.c tests/fuzz/fuzz_tx.c tests/fuzz/fuzz_vm.c
EXTRA_DIST += tests/fuzz/fuzz_smt_proof.c
