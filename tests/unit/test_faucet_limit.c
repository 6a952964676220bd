/* Unit tests of the faucet's rate limits (faucet/limit.c): a key waits its
 * interval after a grant and no longer; other keys are not held up; a full
 * table refuses new keys instead of forgetting live ones, and reuses
 * expired slots. */
#include <stdio.h>

#include "core/error.h"
#include "faucet/limit.h"
#include "tests/unit/test.h"

static void test_interval(void)
{
	faucet_limits_t *l = faucet_limits_new(60000);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 1000), 0);
	CHECK_EQ_INT(faucet_limits_record(l, "tassay1a", 1000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 1000), 60000);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 60999), 1);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 61000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1b", 1000), 0);    /* another key */
	CHECK_EQ_INT(faucet_limits_record(l, "tassay1a", 61000), 0); /* served again: waits anew */
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 61000), 60000);
	CHECK_EQ_INT(faucet_limits_record(l, "", 1), ASSAY_EARG);
	char longkey[FAUCET_KEY_MAX + 1];
	memset(longkey, 'x', FAUCET_KEY_MAX);
	longkey[FAUCET_KEY_MAX] = 0;
	CHECK_EQ_INT(faucet_limits_record(l, longkey, 1), ASSAY_EARG);
	faucet_limits_free(l);
}

/* One IPv6 /64 is one client; IPv4 and IPv4-mapped addresses are each one. */
static void test_client_key(void)
{
	char k[FAUCET_KEY_MAX], k2[FAUCET_KEY_MAX];
	faucet_client_key("192.0.2.7", k);
	CHECK(strcmp(k, "192.0.2.7") == 0);
	faucet_client_key("::ffff:192.0.2.7", k);
	CHECK(strcmp(k, "192.0.2.7") == 0);
	faucet_client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k);
	CHECK(strcmp(k, "2001:db8:1:2::/64") == 0);
	faucet_client_key("2001:db8:1:2::1", k2);
	CHECK(strcmp(k, k2) == 0);
	faucet_client_key("2001:db8:1:3::1", k2);
	CHECK(strcmp(k, k2) != 0);
	faucet_client_key("unknown", k);
	CHECK(strcmp(k, "unknown") == 0);
	/* so the second address of a /64 waits its turn */
	faucet_limits_t *l = faucet_limits_new(1000);
	faucet_client_key("2001:db8::1", k);
	CHECK(faucet_limits_record(l, k, 5000) == 0);
	faucet_client_key("2001:db8::2", k2);
	CHECK(faucet_limits_wait(l, k2, 5100) == 900);
	faucet_limits_free(l);
}

static void test_full(void)
{
	faucet_limits_t *l = faucet_limits_new(1000);
	char key[32];
	for (int i = 0; i < FAUCET_TRACKED_MAX; i++) {
		snprintf(key, sizeof(key), "ip-%d", i);
		CHECK(faucet_limits_record(l, key, 5000) == 0);
	}
	CHECK(!faucet_limits_has_room(l, "newcomer", 5500));
	CHECK_EQ_INT(faucet_limits_record(l, "newcomer", 5500), ASSAY_EFULL);
	CHECK_EQ_U64(faucet_limits_wait(l, "ip-0", 5500), 500); /* not forgotten */
	CHECK(faucet_limits_has_room(l, "ip-7", 5500));         /* its own slot */
	/* once the interval passed, the slots are free again */
	CHECK(faucet_limits_has_room(l, "newcomer", 6000));
	CHECK_EQ_INT(faucet_limits_record(l, "newcomer", 6000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "newcomer", 6000), 1000);
	faucet_limits_free(l);
}

int main(void)
{
	RUN(test_interval);
	RUN(test_client_key);
	RUN(test_full);
	return test_report("test_faucet_limit");
}
