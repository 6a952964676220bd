/* Unit tests for the pure pieces of assay-cli's pre-flight check
 * (wallet/cli_preflight.c): the verdict on a simulatetransaction result,
 * amounts in a node's message rewritten as ASY, a forfeited bond found in
 * events, and the job spec's samples line. Not for: the dry run against a
 * node (tests/functional/wallet_preflight.py). */
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "tests/unit/test.h"
#include "wallet/cli_jobspec.h"
#include "wallet/cli_preflight.h"

static void asy(const char *in, const char *want)
{
	char out[CLI_PREFLIGHT_MSG_MAX];
	cli_preflight_asy_text(in, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fprintf(stderr, "asy_text(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
	CHECK(strcmp(out, want) == 0);
}

static void test_asy_text(void)
{
	asy("reward 10000 below min_reward 1000000",
	    "reward 0.000010000 ASY below min_reward 0.001000000 ASY");
	asy("bond 50000000000 below min_bond 100000000000",
	    "bond 50.000000000 ASY below min_bond 100.000000000 ASY");
	asy("balance below the dispute bond 1000000000", "balance below the dispute bond 1.000000000 ASY");
	/* already in ASY, with units in parentheses: kept */
	asy("insufficient balance: has 12.500000000 ASY (12500000000), needs 13.000000000 ASY (13000000000)",
	    "insufficient balance: has 12.500000000 ASY (12500000000), needs 13.000000000 ASY (13000000000)");
	/* the older form, base units alone */
	asy("insufficient balance: has 12500000000, needs 13000000000",
	    "insufficient balance: has 12.500000000 ASY, needs 13.000000000 ASY");
	/* numbers that are no amounts */
	asy("nonce 5, expected 3", "nonce 5, expected 3");
	asy("tile 5 is correct: dispute bond forfeited", "tile 5 is correct: dispute bond forfeited");
	asy("checking needs 500 gas, limit 100", "checking needs 500 gas, limit 100");
	asy("rebond 7", "rebond 7");
	asy("", "");
	char small[8];
	cli_preflight_asy_text("reward 1000000000", small, sizeof(small));
	CHECK(strlen(small) == 7); /* cut short, still terminated */
}

static json_t *sim(int valid, int ok, const char *error, json_t *events)
{
	return json_pack("{s:b,s:b,s:o,s:i,s:i,s:n,s:o}", "valid", valid, "ok", ok, "error",
			 error ? json_string(error) : json_null(), "gas_used", 0, "fee", 100000, "created",
			 "events", events ? events : json_array());
}

static void test_verdict(void)
{
	char err[CLI_PREFLIGHT_MSG_MAX];
	json_t *j = sim(1, 1, NULL, NULL);
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), 0);
	json_decref(j);

	j = sim(0, 0, "nonce 7, expected 3", NULL);
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "refused") && strstr(err, "would not accept") &&
	      strstr(err, "nonce 7, expected 3"));
	json_decref(j);

	j = sim(1, 0, "reward 10000 below min_reward 1000000", NULL);
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "would fail on chain") && strstr(err, "min_reward 0.001000000 ASY"));
	json_decref(j);

	/* ok, but the event says the bond went to the worker */
	const char *note = "tile 5 is correct: dispute bond forfeited to the worker";
	char hex[200];
	hex_encode((const uint8_t *)note, strlen(note), hex);
	json_t *events = json_pack("[{s:s,s:s}]", "contract", "dassay1...", "data", hex);
	j = sim(1, 1, NULL, events);
	CHECK(cli_preflight_forfeited(j));
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), ASSAY_EINVALID);
	CHECK(strstr(err, "lose money") && strstr(err, "forfeited"));
	json_decref(j);

	hex_encode((const uint8_t *)"tile 5 is wrong: worker slashed", 31, hex);
	j = sim(1, 1, NULL, json_pack("[{s:s,s:s}]", "contract", "dassay1...", "data", hex));
	CHECK(!cli_preflight_forfeited(j));
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), 0);
	json_decref(j);

	/* a reply without the fields is no success */
	j = json_object();
	CHECK_EQ_INT(cli_preflight_verdict(j, err, sizeof(err)), ASSAY_EINVALID);
	json_decref(j);
}

static void test_samples_text(void)
{
	char out[96];
	jobspec_samples_text(4, 12, out, sizeof(out));
	CHECK(strcmp(out, "4 of 12 tiles") == 0);
	jobspec_samples_text(16, 12, out, sizeof(out));
	CHECK(strcmp(out, "every one of the 12 tiles (16 asked)") == 0);
	jobspec_samples_text(12, 12, out, sizeof(out));
	CHECK(strcmp(out, "every one of the 12 tiles (12 asked)") == 0);
}

int main(void)
{
	RUN(test_asy_text);
	RUN(test_verdict);
	RUN(test_samples_text);
	return test_report("cli_preflight");
}
