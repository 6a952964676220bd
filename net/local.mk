# net/: the p2p layer (docs/p2p.md). Depends only on core, libevent and zstd.
noinst_LIBRARIES += libassay_net.a
libassay_net_a_SOURCES = \
	net/frame.c net/frame.h \
	net/msg.c net/msg.h \
	net/hashset.c net/hashset.h \
	net/request.c net/request.h \
	net/peer.c net/peer.h \
	net/sync.c net/sync.h \
	net/book.c net/book.h \
	net/evict.c net/evict.h \
	net/net.c net/net.h

NET_TEST_LIBS = libassay_net.a $(CORE_LIBS)

check_PROGRAMS += tests/unit/test_net_frame tests/unit/test_net_msg tests/unit/test_net_peer tests/unit/test_net_sync
TESTS += tests/unit/test_net_frame tests/unit/test_net_msg tests/unit/test_net_peer tests/unit/test_net_sync
tests_unit_test_net_frame_SOURCES = tests/unit/test_net_frame.c
tests_unit_test_net_frame_LDADD = $(NET_TEST_LIBS)
tests_unit_test_net_msg_SOURCES = tests/unit/test_net_msg.c
tests_unit_test_net_msg_LDADD = $(NET_TEST_LIBS)
tests_unit_test_net_peer_SOURCES = tests/unit/test_net_peer.c
tests_unit_test_net_peer_LDADD = $(NET_TEST_LIBS)
tests_unit_test_net_sync_SOURCES = tests/unit/test_net_sync.c
tests_unit_test_net_sync_LDADD = $(NET_TEST_LIBS)
check_PROGRAMS += tests/unit/test_net_loop
TESTS += tests/unit/test_net_loop
tests_unit_test_net_loop_SOURCES = tests/unit/test_net_loop.c
tests_unit_test_net_loop_LDADD = libassay_net.a $(EVENT_LIBS) $(CORE_LIBS)
check_PROGRAMS += tests/unit/test_net_book
TESTS += tests/unit/test_net_book
tests_unit_test_net_book_SOURCES = tests/unit/test_net_book.c
tests_unit_test_net_book_LDADD = $(NET_TEST_LIBS)
check_PROGRAMS += tests/unit/test_net_hashset
TESTS += tests/unit/test_net_hashset
tests_unit_test_net_hashset_SOURCES = tests/unit/test_net_hashset.c
tests_unit_test_net_hashset_LDADD = $(NET_TEST_LIBS)
check_PROGRAMS += tests/unit/test_net_request
TESTS += tests/unit/test_net_request
tests_unit_test_net_request_SOURCES = tests/unit/test_net_request.c
tests_unit_test_net_request_LDADD = $(NET_TEST_LIBS)
check_PROGRAMS += tests/unit/test_net_evict
TESTS += tests/unit/test_net_evict
tests_unit_test_net_evict_SOURCES = tests/unit/test_net_evict.c
tests_unit_test_net_evict_LDADD = $(NET_TEST_LIBS)

noinst_PROGRAMS += bench/bench_net
bench_bench_net_SOURCES = bench/bench_net.c
bench_bench_net_LDADD = libassay_net.a $(EVENT_LIBS) $(CORE_LIBS)
