/* Unit tests for wallet/amount: exact decimal parsing and formatting of ASY,
 * the edges of u64, and the inputs a user might mistype. */
#include <stdint.h>

#include "core/error.h"
#include "tests/unit/test.h"
#include "wallet/amount.h"

static uint64_t parsed(const char *text, int *rc)
{
	uint64_t units = 12345;
	*rc = amount_parse(text, &units);
	return units;
}

static void test_parse_ok(void)
{
	int rc;
	CHECK(parsed("1", &rc) == 1000000000ull && rc == 0);
	CHECK(parsed("1.5", &rc) == 1500000000ull && rc == 0);
	CHECK(parsed("0.000000001", &rc) == 1 && rc == 0);
	CHECK(parsed("0", &rc) == 0 && rc == 0);
	CHECK(parsed("0.1", &rc) == 100000000ull && rc == 0);
	CHECK(parsed("0.0001", &rc) == 100000ull && rc == 0);
	CHECK(parsed("12.500000000", &rc) == 12500000000ull && rc == 0);
	CHECK(parsed("007.25", &rc) == 7250000000ull && rc == 0);
	/* u64 max = 18446744073709551615 units */
	CHECK(parsed("18446744073.709551615", &rc) == UINT64_MAX && rc == 0);
}

static void test_parse_rejects(void)
{
	int rc;
	const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1.", ".5", "1.0000000001", "1e9",
			     "abc", "1.2.3", "0x10", "1,5", "١"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t u = parsed(bad[i], &rc);
		CHECK(rc == ASSAY_EARG);
		CHECK(u == 12345); /* untouched on error */
	}
	CHECK(amount_parse(NULL, &(uint64_t){0}) == ASSAY_EARG);
	parsed("18446744073.709551616", &rc);
	CHECK(rc == ASSAY_EOVERFLOW);
	parsed("18446744074", &rc);
	CHECK(rc == ASSAY_EOVERFLOW);
	parsed("99999999999999999999999", &rc);
	CHECK(rc == ASSAY_EOVERFLOW);
}

static void test_format(void)
{
	char out[AMOUNT_STR_MAX];
	amount_format(1500000000ull, out);
	CHECK(strcmp(out, "1.500000000") == 0);
	amount_format(0, out);
	CHECK(strcmp(out, "0.000000000") == 0);
	amount_format(1, out);
	CHECK(strcmp(out, "0.000000001") == 0);
	amount_format(UINT64_MAX, out);
	CHECK(strcmp(out, "18446744073.709551615") == 0);
	amount_format(12500000000ull, out);
	CHECK(strcmp(out, "12.500000000") == 0);
}

static void test_round_trip(void)
{
	const uint64_t values[] = {0, 1, 999999999, 1000000000, 1000000001, 123456789012345ull,
				   UINT64_MAX - 1, UINT64_MAX};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char out[AMOUNT_STR_MAX];
		uint64_t back = 0;
		amount_format(values[i], out);
		CHECK(amount_parse(out, &back) == 0);
		CHECK(back == values[i]);
	}
}

int main(void)
{
	RUN(test_parse_ok);
	RUN(test_parse_rejects);
	RUN(test_format);
	RUN(test_round_trip);
	return test_report("amount");
}
