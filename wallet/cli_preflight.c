/* The pre-flight check of assay-cli's sending commands (see
 * cli_preflight.h): one simulatetransaction call and the verdict on its
 * result. Not for: building or signing the transaction (cli.c, txbuild.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "wallet/amount.h"
#include "wallet/cli_preflight.h"

#define PREFLIGHT_NOTE_MAX 256 /* bytes of one event's text examined */

/* Words after which a node's message names an amount in base units. */
static const char *const amount_words[] = {
	"has ", "needs ", "min_reward ", "min_bond ", "reward ", "bond ", "balance ", "amount ", "escrow ",
};

/* What may follow a number that is then no base-unit amount. */
static const char *const other_units[] = {" ASY", " gas", " bytes", " blocks", " tiles"};

static int unit_follows(const char *after)
{
	for (size_t u = 0; u < sizeof(other_units) / sizeof(other_units[0]); u++)
		if (strncmp(after, other_units[u], strlen(other_units[u])) == 0)
			return 1;
	return 0;
}

static size_t put_text(char *out, size_t cap, size_t at, const char *s, size_t n)
{
	for (size_t i = 0; i < n && at + 1 < cap; i++)
		out[at++] = s[i];
	return at;
}

void cli_preflight_asy_text(const char *msg, char *out, size_t cap)
{
	size_t at = 0;
	if (!cap)
		return;
	for (size_t i = 0; msg[i];) {
		size_t wlen = 0;
		int word_start = i == 0 || (!isalnum((unsigned char)msg[i - 1]) && msg[i - 1] != '_');
		for (size_t w = 0; word_start && !wlen && w < sizeof(amount_words) / sizeof(amount_words[0]);
		     w++)
			if (strncmp(msg + i, amount_words[w], strlen(amount_words[w])) == 0)
				wlen = strlen(amount_words[w]);
		size_t d = 0;
		while (wlen && isdigit((unsigned char)msg[i + wlen + d]))
			d++;
		const char *after = msg + i + wlen + d;
		if (!wlen || !d || d > 20 || *after == '.' || isalnum((unsigned char)*after) ||
		    unit_follows(after)) {
			at = put_text(out, cap, at, msg + i, wlen ? wlen : 1);
			i += wlen ? wlen : 1;
			continue;
		}
		char digits[24], asy[AMOUNT_STR_MAX];
		memcpy(digits, msg + i + wlen, d);
		digits[d] = 0;
		errno = 0;
		unsigned long long units = strtoull(digits, NULL, 10);
		at = put_text(out, cap, at, msg + i, wlen);
		if (errno) { /* no amount of ours: kept as written */
			at = put_text(out, cap, at, digits, d);
		} else {
			amount_format(units, asy);
			at = put_text(out, cap, at, asy, strlen(asy));
			at = put_text(out, cap, at, " ASY", 4);
		}
		i += wlen + d;
	}
	out[at] = 0;
}

int cli_preflight_forfeited(const json_t *result)
{
	const json_t *events = json_object_get(result, "events");
	for (size_t i = 0; i < json_array_size(events); i++) {
		const char *hex = json_string_value(json_object_get(json_array_get(events, i), "data"));
		char note[PREFLIGHT_NOTE_MAX + 1];
		size_t n = hex ? strlen(hex) / 2 : 0;
		if (n > PREFLIGHT_NOTE_MAX)
			n = PREFLIGHT_NOTE_MAX;
		if (!n || hex_decode(hex, (uint8_t *)note, n) != (long)n)
			continue;
		note[n] = 0;
		if (strstr(note, "forfeited"))
			return 1;
	}
	return 0;
}

static const char *forfeit_note(const json_t *result, char *note, size_t cap)
{
	const json_t *events = json_object_get(result, "events");
	for (size_t i = 0; i < json_array_size(events); i++) {
		const char *hex = json_string_value(json_object_get(json_array_get(events, i), "data"));
		size_t n = hex ? strlen(hex) / 2 : 0;
		if (n >= cap)
			n = cap - 1;
		if (!n || hex_decode(hex, (uint8_t *)note, n) != (long)n)
			continue;
		note[n] = 0;
		if (strstr(note, "forfeited"))
			return note;
	}
	return "a bond would be forfeited";
}

int cli_preflight_verdict(const json_t *sim, char *err, size_t errlen)
{
	char reason[CLI_PREFLIGHT_MSG_MAX];
	const char *error = json_string_value(json_object_get(sim, "error"));
	cli_preflight_asy_text(error ? error : "no reason given", reason, sizeof(reason));
	if (!json_is_true(json_object_get(sim, "valid"))) {
		snprintf(err, errlen, "refused: the chain would not accept this transaction: %s", reason);
		return ASSAY_EINVALID;
	}
	if (!json_is_true(json_object_get(sim, "ok"))) {
		snprintf(err, errlen,
			 "refused: this transaction would fail on chain and still pay its fee: %s", reason);
		return ASSAY_EINVALID;
	}
	if (cli_preflight_forfeited(sim)) {
		char note[PREFLIGHT_NOTE_MAX];
		cli_preflight_asy_text(forfeit_note(sim, note, sizeof(note)), reason, sizeof(reason));
		snprintf(err, errlen, "refused: this transaction would lose money: %s", reason);
		return ASSAY_EINVALID;
	}
	return 0;
}

int cli_preflight_hex(struct cli_ctx *ctx, const char *hex, int force, char *err, size_t errlen)
{
	struct rpc_failure f;
	json_t *params = json_pack("[s]", hex), *sim = NULL;
	if (!params)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	int rc = rpc_client_call(&ctx->rpc, "simulatetransaction", params, &sim, &f);
	json_decref(params);
	if (rc) {
		snprintf(err, errlen, "refused: cannot check the transaction first (simulatetransaction: %s)",
			 f.message);
		rc = rc == ASSAY_ENOMEM || rc == ASSAY_EIO ? rc : ASSAY_EINVALID; /* EIO: unreachable */
	} else {
		rc = cli_preflight_verdict(sim, err, errlen);
		json_decref(sim);
	}
	if (rc && rc != ASSAY_ENOMEM && force) {
		const char *why = strncmp(err, "refused: ", 9) == 0 ? err + 9 : err;
		cli_warn("%s (--force: sending it anyway)", why);
		return 0;
	}
	return rc;
}

int cli_preflight(struct cli_ctx *ctx, const struct tx *t, int force, char *err, size_t errlen)
{
	struct buf enc;
	buf_init(&enc);
	tx_encode(t, &enc);
	char *hex = enc.oom ? NULL : malloc(2 * enc.len + 1);
	if (!hex) {
		buf_free(&enc);
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	}
	hex_encode(enc.data, enc.len, hex);
	buf_free(&enc);
	int rc = cli_preflight_hex(ctx, hex, force, err, errlen);
	free(hex);
	return rc;
}
