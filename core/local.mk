# core/: primitives every other layer uses.
noinst_LIBRARIES += libassay_core.a
libassay_core_a_SOURCES = \
	core/error.c core/error.h \
	core/buf.c core/buf.h \
	core/sha256.c core/sha256.h \
	core/chacha.c core/chacha.h \
	core/keys.c core/keys.h \
	core/bech32.c core/bech32.h \
	core/network.c core/network.h \
	core/merkle.c core/merkle.h \
	core/smt_proof.c core/smt_proof.h \
	core/vrf.c core/vrf.h \
	core/tx.c core/tx.h \
	core/block.c core/block.h \
	core/ledger.c core/ledger.h \
	core/log.c core/log.h \
	core/conf.c core/conf.h \
	core/ipkey.c core/ipkey.h \
	core/notify.c core/notify.h
# The compiled networks (core/network.h, network_builtins[]): generated from
# each network's data files, which stay the one description of it. Adding a
# network: its directory docs/testnet/NAME/ and one NAME triple below.
nodist_libassay_core_a_SOURCES = core/network_data.c
NETWORK_DATA_ARGS = testnet $(top_srcdir)/docs/testnet/testnet/genesis.json \
	$(top_srcdir)/docs/testnet/testnet/seeds.txt
core/network_data.c: $(top_srcdir)/core/network_embed.sh $(top_srcdir)/docs/testnet/testnet/genesis.json \
		$(top_srcdir)/docs/testnet/testnet/seeds.txt
	$(AM_V_GEN)$(MKDIR_P) core && $(SHELL) $(top_srcdir)/core/network_embed.sh $(NETWORK_DATA_ARGS) >$@.tmp && mv $@.tmp $@
CLEANFILES += core/network_data.c
EXTRA_DIST += core/network_embed.sh

# Unit tests of core/ (tests/unit/test_<module>.c), run by make check.
CORE_TESTS = tests/unit/test_buf tests/unit/test_sha256 tests/unit/test_chacha tests/unit/test_keys tests/unit/test_bech32 tests/unit/test_merkle tests/unit/test_tx tests/unit/test_block \
	tests/unit/test_ledger tests/unit/test_vrf tests/unit/test_network tests/unit/test_log
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_LDADD = $(CORE_LIBS)
tests_unit_test_sha256_SOURCES = tests/unit/test_sha256.c
tests_unit_test_sha256_LDADD = $(CORE_LIBS)
tests_unit_test_chacha_SOURCES = tests/unit/test_chacha.c tests/unit/test.h
tests_unit_test_chacha_LDADD = $(CORE_LIBS)
tests_unit_test_keys_SOURCES = tests/unit/test_keys.c
tests_unit_test_keys_LDADD = $(CORE_LIBS)
tests_unit_test_bech32_SOURCES = tests/unit/test_bech32.c
tests_unit_test_bech32_LDADD = $(CORE_LIBS)
tests_unit_test_merkle_SOURCES = tests/unit/test_merkle.c
tests_unit_test_merkle_LDADD = $(CORE_LIBS)
tests_unit_test_tx_SOURCES = tests/unit/test_tx.c
tests_unit_test_tx_LDADD = $(CORE_LIBS)
tests_unit_test_block_SOURCES = tests/unit/test_block.c
tests_unit_test_block_LDADD = $(CORE_LIBS)
tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c
tests_unit_test_ledger_LDADD = $(CORE_LIBS)
tests_unit_test_vrf_SOURCES = tests/unit/test_vrf.c
tests_unit_test_vrf_LDADD = $(CORE_LIBS)
check_PROGRAMS += tests/unit/test_smt_proof
TESTS += tests/unit/test_smt_proof
tests_unit_test_smt_proof_SOURCES = tests/unit/test_smt_proof.c tests/unit/test.h
tests_unit_test_smt_proof_LDADD = $(CORE_LIBS)
tests_unit_test_network_SOURCES = tests/unit/test_network.c
tests_unit_test_network_LDADD = $(CORE_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test_log.c tests/unit/test.h
tests_unit_test_log_LDADD = $(CORE_LIBS)

# Fuzz targets are built and run by scripts/fuzz, not by make (they need
# clang's libFuzzer); see tests/fuzz/README.md. Files are named one by one:
# a VPATH build has a tests/fuzz of its own (objects), which make dist
# would copy in place of the sources.
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus \
	tests/fuzz/fuzz_asm.c tests/fuzz/fuzz_bech32.c tests/fuzz/fuzz_block.c \
	tests/fuzz/fuzz_codec.c tests/fuzz/fuzz_net.c tests/fuzz/fuzz_tx.c tests/fuzz/fuzz_vm.c
EXTRA_DIST += tests/fuzz/fuzz_smt_proof.c
