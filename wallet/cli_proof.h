/* assay-cli getproof (docs/cli.md "State proofs"): fetch a state proof and,
 * with --verify, check it against the state_root of a block header the user
 * names. The row lives in cli_commands[] (cli_commands.c).
 * Not for: the proof format or its verification rules (core/smt_proof.h). */
#ifndef ASSAY_WALLET_CLI_PROOF_H
#define ASSAY_WALLET_CLI_PROOF_H

#include "core/sha256.h"
#include "wallet/cli.h"

int cli_cmd_getproof(struct cli_ctx *ctx);

/* A state value proven against a block's state_root (cli_proof_check). */
struct cli_proven {
	int included;          /* 0: the key is proven absent */
	uint8_t *value;        /* malloc()ed when included (the caller frees it); else NULL */
	size_t value_len;
	uint64_t height;       /* the block whose header was checked */
	uint64_t proof_height; /* the tip getproof answered at (same state_root) */
	char block_hash_hex[2 * HASH_LEN + 1];
	char state_root_hex[2 * HASH_LEN + 1];
};

/* CLI_OK, or CLI_EUSAGE (said) for --height/--header-hash without --verify. */
int cli_verify_opts(const struct cli_ctx *ctx);

/* Fetches getproof(target) for state key and verifies it against the
 * header the command's --height or --header-hash names (else the block the
 * proof names), trusting the node for nothing else: CLI_OK with *out
 * filled, or a CLI_E* code after printing why. */
int cli_proof_check(struct cli_ctx *ctx, const char *target, const uint8_t key[HASH_LEN], struct cli_proven *out);

extern const struct cli_optdef cli_getproof_opts[];

#endif
