/* Handlers of assay-cli's wallet group (cli_wallet.c), for the rows of
 * cli_commands[]. Not for: key storage (keystore.h). */
#ifndef ASSAY_WALLET_CLI_WALLET_H
#define ASSAY_WALLET_CLI_WALLET_H

#include "wallet/cli.h"

int cli_wallet_create(struct cli_ctx *ctx);
int cli_wallet_list(struct cli_ctx *ctx);
int cli_wallet_address(struct cli_ctx *ctx);
int cli_wallet_show(struct cli_ctx *ctx);
int cli_wallet_import_dev(struct cli_ctx *ctx);
int cli_wallet_restore(struct cli_ctx *ctx);
int cli_wallet_import(struct cli_ctx *ctx);
int cli_wallet_export(struct cli_ctx *ctx);
int cli_wallet_passphrase(struct cli_ctx *ctx);
int cli_wallet_delete(struct cli_ctx *ctx);
extern const struct cli_optdef cli_wallet_import_dev_opts[];
extern const struct cli_optdef cli_wallet_restore_opts[];
extern const struct cli_optdef cli_wallet_import_opts[];
extern const struct cli_optdef cli_wallet_export_opts[];
extern const struct cli_optdef cli_wallet_passphrase_opts[];
extern const struct cli_optdef cli_wallet_delete_opts[];

#endif
