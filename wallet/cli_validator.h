/* assay-cli's validator commands (docs/cli.md "Validator commands"): the
 * validator key file that assayd loads with -validator=FILE (create, show,
 * read), and the transactions a validator signs with it: validator_bond,
 * validator_unbond and validator_unjail. Rows in cli_commands[]
 * (cli_commands.c). Not for: the rules of those transactions
 * (consensus/), or genesis files (cli_testnet.h). */
#ifndef ASSAY_WALLET_CLI_VALIDATOR_H
#define ASSAY_WALLET_CLI_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/keys.h"
#include "wallet/cli.h"

#define CLI_VALIDATOR_DIR "validator" /* DATADIR/validator/NAME.json */
#define CLI_VALIDATOR_KEY_TYPE "assay-validator-key"
/* Transaction kind of validator_unjail (docs/protocol.md §3); builds whose
 * core/tx.h does not know it yet refuse to sign it. */
#define CLI_TX_VALIDATOR_UNJAIL 13

/* DATADIR/validator/NAME.json into out. 0; ASSAY_EARG for a bad name,
 * ASSAY_ELIMIT when it does not fit. */
int cli_validator_key_path(const char *datadir, const char *name, char *out, size_t cap);
/* Writes a validator key file at path holding seed: mode 0600, the
 * directory above made 0700 if absent, never over an existing file (link()
 * of a fully written temporary). 0; ASSAY_EEXISTS (left alone), ASSAY_EIO;
 * err says which. */
int cli_validator_key_write(const char *path, const uint8_t seed[SEED_LEN], char *err, size_t errlen);
/* Reads a validator key file: its key pair (sk in libsodium's layout). A
 * "pubkey" field, when present, must match the seed. 0; ASSAY_ENOTFOUND,
 * ASSAY_EDECODE, ASSAY_EIO with err filled. Wipe sk after use. */
int cli_validator_key_read(const char *path, uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN], char *err,
			   size_t errlen);
/* The file a --from names: a path when it holds a '/', else the key NAME of
 * DATADIR/validator. CLI_OK or CLI_EUSAGE (printed). */
int cli_validator_resolve(const struct cli_ctx *ctx, const char *from, char *path, size_t cap);
/* A cli_key_loader (cli.h) for validator key files. */
int cli_validator_load(struct cli_ctx *ctx, const char *from, struct keystore_key *key);

/* Payloads (docs/protocol.md §3): validator_bond and validator_unbond are
 * amount:u64 (base units); validator_unjail is empty. */
void cli_validator_amount_payload(uint64_t amount, struct buf *b);

/* validator key create NAME | validator key show NAME (one row: the table
 * has two words a command). */
int cli_cmd_validator_key(struct cli_ctx *ctx);
int cli_cmd_validator_bond(struct cli_ctx *ctx);
int cli_cmd_validator_unbond(struct cli_ctx *ctx);
int cli_cmd_validator_unjail(struct cli_ctx *ctx);

extern const struct cli_optdef cli_validator_key_create_opts[];
extern const struct cli_optdef cli_validator_bond_opts[];
extern const struct cli_optdef cli_validator_unjail_opts[];

#endif
