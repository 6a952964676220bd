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
	RUN(test_full);
	return test_report("test_faucet_limit");
}
