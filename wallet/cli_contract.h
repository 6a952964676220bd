/* assay-cli's contract group (docs/cli.md "contract"): assemble, deploy,
 * call, query and disassemble contracts, typed by the contract's ABI
 * (docs/contracts.md §10) where one is known. The handlers and their option
 * tables, for the rows of cli_commands[]; plus the pure helpers they rest
 * on, exported for unit tests. Not for: the VM itself (vm/vm.h, vm/asm.h). */
#ifndef ASSAY_WALLET_CLI_CONTRACT_H
#define ASSAY_WALLET_CLI_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/network.h"
#include "vm/asm.h"
#include "wallet/cli.h"

/* The fee of a deploy or call defaults to the chain's floor for its gas
 * (chain_min_fee of consensus/params.h, with min_fee and gas_price read from
 * the node's getchainparams). Default gas limits: a deploy pays for its code
 * (vm_deploy_base_gas: 10000 + 64 a byte, up to 64 KiB) and may run init,
 * so it defaults to that plus CONTRACT_CALL_GAS, at least
 * CONTRACT_DEPLOY_GAS; a call or a query runs one method. */
#define CONTRACT_DEPLOY_GAS 2000000ull
#define CONTRACT_CALL_GAS 1000000ull
#define CONTRACT_ARGS_MAX 32            /* method arguments on one command line */
#define CONTRACT_FILE_MAX (4u << 20)    /* bytes of an .asm or .bin file read */
#define CONTRACT_CODE_RECORD_V1 1       /* code record version (contracts.md §5) */
#define CONTRACT_ARG_FILE_MAX (16u * 1024) /* an @FILE argument: the VM's calldata limit */
#define CONTRACT_ABI_FILE_MAX (256u * 1024) /* bytes of an .abi.json file read */
#define CONTRACT_ABI_VERSION 1              /* "abi_version" of an .abi.json file */

/* Reads a contract file into code: FILE ending in ".asm" is assembled (errors
 * as "FILE:line:column: message"), anything else is taken as bytecode. The
 * code is then checked with the VM's validator unless validate is 0.
 * 0, or ASSAY_EIO / ASSAY_ELIMIT / ASSAY_EINVALID with err filled. */
int contract_load_file(const char *path, int validate, struct buf *code, char *err, size_t errlen);
/* As contract_load_file, and for an .asm file fills abi with what it
 * declares (abi may be NULL; for other files it is left empty). */
int contract_load_abi(const char *path, int validate, struct buf *code, struct vm_abi *abi, char *err,
		      size_t errlen);

/* The ABI file beside a contract file: FILE.asm or FILE.bin (or FILE) gives
 * FILE.abi.json. ASSAY_ELIMIT if it does not fit out. */
int contract_abi_path(const char *code_path, char out[CLI_PATH_MAX]);
/* An ABI as the .abi.json file holds it; a new reference (NULL on ENOMEM). */
json_t *contract_abi_json(const struct vm_abi *abi);
/* The ABI of an .abi.json document: every method's "signature" is parsed
 * (name, args and returns are derived from it for other tools), and an
 * "abi_hash" given must be the hash of what was read. 0, or ASSAY_EINVALID
 * with err filled. */
int contract_abi_from_json(const json_t *j, struct vm_abi *abi, char *err, size_t errlen);
/* Reads an ABI from FILE.abi.json, or from FILE.asm by assembling it.
 * 0, ASSAY_EIO / ASSAY_ENOTFOUND (no such file) / ASSAY_EINVALID. */
int contract_abi_read(const char *path, struct vm_abi *abi, char *err, size_t errlen);

/* Appends m's arguments, packed by their types (contracts.md §10), to out:
 * integers decimal or 0x hex within their width, bool true/false/1/0,
 * amount in ASY, address bech32m of net, bytes32 0x and 64 hex digits,
 * bytes as "bytes:HEX" or 0x and hex digits. The argument count must be
 * m's. 0, or ASSAY_EARG with err naming the argument (ASSAY_ENOMEM). */
int contract_abi_encode_args(const struct vm_abi_method *m, const char *const *args, int nargs,
			     enum network net, struct buf *out, char *err, size_t errlen);
/* Decodes m's return data: *values a new JSON object, name -> value
 * (addresses bech32m, amounts as base units and NAME_asy in ASY, u64 above
 * 2^63 as decimal strings, bytes hex); text gets one "name: value" line per
 * value for people (amounts as "5.000000000 ASY"). 0, or ASSAY_EDECODE with
 * err filled when the data is not of m's shape. */
int contract_abi_decode(const struct vm_abi_method *m, enum network net, const uint8_t *data, size_t n,
			json_t **values, struct buf *text, char *err, size_t errlen);

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
extern const struct cli_optdef cli_contract_query_opts[];

#endif
