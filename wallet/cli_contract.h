/* assay-cli's contract group (docs/cli.md "contract"): assemble, deploy,
 * call, query and disassemble contracts. The handlers and their option
 * tables, for the rows of cli_commands[]; plus the pure helpers they rest
 * on, exported for unit tests. Not for: the VM itself (vm/vm.h, vm/asm.h). */
#ifndef ASSAY_WALLET_CLI_CONTRACT_H
#define ASSAY_WALLET_CLI_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "wallet/cli.h"

/* The fee of a deploy or call defaults to the chain's floor for its gas
 * (chain_min_fee of consensus/params.h, with min_fee and gas_price read from
 * the node's getchainparams). Default gas limits: a deploy stores up to 64 KiB of code at 20 gas a byte
 * plus 10000, and may run init; a call or a query runs one method. */
#define CONTRACT_DEPLOY_GAS 2000000ull
#define CONTRACT_CALL_GAS 1000000ull
#define CONTRACT_ARGS_MAX 32            /* method arguments on one command line */
#define CONTRACT_FILE_MAX (4u << 20)    /* bytes of an .asm or .bin file read */
#define CONTRACT_CODE_RECORD_V1 1       /* code record version (contracts.md §5) */
#define CONTRACT_ARG_FILE_MAX (16u * 1024) /* an @FILE argument: the VM's calldata limit */

/* Reads a contract file into code: FILE ending in ".asm" is assembled (errors
 * as "FILE:line:column: message"), anything else is taken as bytecode. The
 * code is then checked with the VM's validator unless validate is 0.
 * 0, or ASSAY_EIO / ASSAY_ELIMIT / ASSAY_EINVALID with err filled. */
int contract_load_file(const char *path, int validate, struct buf *code, char *err, size_t errlen);

/* Decodes a stored code record (u8 version || code, contracts.md §5): sets
 * *code and *n to point into record. 0, or ASSAY_EDECODE. */
int contract_record_decode(const uint8_t *record, size_t len, const uint8_t **code, size_t *n);

/* An @FILE method argument: the file's bytes as calldata text
 * "bytes:HEX" (vm_calldata_build's raw-bytes form) in *text, malloc()ed;
 * the caller frees it. 0, or ASSAY_EIO / ASSAY_ELIMIT / ASSAY_ENOMEM with
 * err filled. */
int contract_file_arg(const char *path, char **text, char *err, size_t errlen);

/* Handlers (enum cli_exit). */
int cli_contract_build(struct cli_ctx *ctx);
int cli_contract_deploy(struct cli_ctx *ctx);
int cli_contract_call(struct cli_ctx *ctx);
int cli_contract_query(struct cli_ctx *ctx);
int cli_contract_disasm(struct cli_ctx *ctx);

extern const struct cli_optdef cli_contract_build_opts[];
extern const struct cli_optdef cli_contract_deploy_opts[];
extern const struct cli_optdef cli_contract_call_opts[];

#endif
