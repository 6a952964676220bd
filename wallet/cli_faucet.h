/* assay-cli faucet: asks an assay-faucet service for test coins
 * (docs/faucet.md, docs/cli.md). Not for: the service itself (faucet/). */
#ifndef ASSAY_WALLET_CLI_FAUCET_H
#define ASSAY_WALLET_CLI_FAUCET_H

#include "wallet/cli.h"

#define CLI_FAUCET_DEFAULT_URL "http://127.0.0.1:29460" /* assay-faucet's default -listen */
#define CLI_FAUCET_REPLY_MAX 65536                      /* a faucet's answer is a line of JSON */

extern const struct cli_optdef cli_faucet_opts[];
int cli_faucet(struct cli_ctx *ctx);

#endif
