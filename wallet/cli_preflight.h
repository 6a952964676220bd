/* assay-cli's pre-flight check: before a command sends a signed
 * transaction, the node dry-runs it (simulatetransaction, docs/rpc.md) and
 * the command refuses, with the reason, one that could not be included,
 * would fail on chain or would forfeit a bond, unless --force. Also the
 * pure pieces (the verdict on a simulation, amounts in ASY in a node's
 * message) for unit tests. Not for: signing or sending (cli.c). */
#ifndef ASSAY_WALLET_CLI_PREFLIGHT_H
#define ASSAY_WALLET_CLI_PREFLIGHT_H

#include <stddef.h>

#include <jansson.h>

#include "core/tx.h"
#include "wallet/cli.h"

#define CLI_PREFLIGHT_MSG_MAX 512 /* err buffer a caller should offer */

/* Simulates the signed transaction t on the node (simulatetransaction) and
 * judges the result with cli_preflight_verdict. Returns:
 *   0                 t would be included and succeed; or force is set and
 *                     the predicted failure was printed on stderr as a
 *                     "warning: ... (--force: sending it anyway)";
 *   ASSAY_EINVALID    refused: err holds the reason, ready for
 *                     cli_fail(CLI_EFAIL, "%s", err); nothing was sent;
 *   ASSAY_EIO         the node could not be reached (err says why); also
 *                     refused, unless force (a node without
 *                     simulatetransaction: ASSAY_EINVALID, the same);
 *   ASSAY_ENOMEM.
 * Nothing is printed on refusal: the caller prints err. The simulation runs
 * on the node's committed state plus the sender's own pending transactions
 * with lower nonces, for the next block: a prediction, not a promise. */
int cli_preflight(struct cli_ctx *ctx, const struct tx *t, int force, char *err, size_t errlen);
/* The same for an already encoded transaction, as hex. */
int cli_preflight_hex(struct cli_ctx *ctx, const char *hex, int force, char *err, size_t errlen);

/* The verdict on a simulatetransaction result: 0 when it would be included,
 * succeed and forfeit nothing; else ASSAY_EINVALID with the reason in err
 * ("refused: ..."), its amounts in ASY. Pure. */
int cli_preflight_verdict(const json_t *sim, char *err, size_t errlen);

/* A node's message with the base-unit amounts it names after a known word
 * ("min_reward 1000", "bond 5", "has 7") written as ASY ("min_reward
 * 0.000001000 ASY"); amounts already in ASY or in parentheses are kept.
 * Writes at most cap bytes (cut short if need be). Pure. */
void cli_preflight_asy_text(const char *msg, char *out, size_t cap);

/* 1 if the receipt or simulation result's events say a bond was forfeited
 * (a dispute of a correct tile, docs/compute.md §6.3). Pure. */
int cli_preflight_forfeited(const json_t *result);

#endif
