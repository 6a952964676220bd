# faucet/: assay-faucet, the test-coin service (docs/faucet.md). Like
# assay-worker it talks to a node over JSON-RPC with the clients' library
# (libassay_client.a) and links no node code. Its rate limits are a small
# pure library with a unit test.
noinst_LIBRARIES += libassay_faucet.a
libassay_faucet_a_SOURCES = faucet/limit.c faucet/limit.h

bin_PROGRAMS += assay-faucet
assay_faucet_SOURCES = faucet/main.c
assay_faucet_LDADD = libassay_faucet.a $(CLIENT_LIBS)

check_PROGRAMS += tests/unit/test_faucet_limit
TESTS += tests/unit/test_faucet_limit
tests_unit_test_faucet_limit_SOURCES = tests/unit/test_faucet_limit.c tests/unit/test.h
tests_unit_test_faucet_limit_LDADD = libassay_faucet.a $(CORE_LIBS)

# What assay-faucet links, by its symbols (a client: no node, net, VM or CLI).
TESTS += tests/unit/faucet_links.sh
EXTRA_DIST += tests/unit/faucet_links.sh
