/* The shared frame of assay-cli: argument parsing (bitcoin-cli style
 * -name=value or --name=value, via getopt_long_only), settings from flags,
 * DATADIR/assay.conf and the .cookie, the command table, output in human or
 * --json form, and helpers every command group uses (RPC call, unlock a
 * wallet, sign and submit, wait for commit). Not for: key storage
 * (keystore.h) or the HTTP client itself (rpc_client.h).
 *
 * Adding a command group: write handlers `int h(struct cli_ctx *)` returning
 * an enum cli_exit, and add rows to cli_commands[] in cli_commands.c. */
#ifndef ASSAY_WALLET_CLI_H
#define ASSAY_WALLET_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "consensus/params.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/network.h"
#include "core/sha256.h"
#include "wallet/client_opts.h" /* the connection settings' codes and bits */
#include "wallet/keystore.h"
#include "wallet/rpc_client.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_EFAIL = 1,        /* a command or RPC failed */
	CLI_EUSAGE = 2,       /* bad flags, arguments, amounts or addresses */
	CLI_EUNREACHABLE = 3, /* the node cannot be reached */
	CLI_ETIMEOUT = 4,     /* --wait ran out of time */
};

#define CLI_MAX_OPTS 32     /* command options on one command line */
#define CLI_PATH_MAX 4096
#define CLI_DEFAULT_WAIT_S 60     /* send --wait without --timeout */
#define CLI_POLL_MS 500           /* gettransaction polling interval for --wait */
#define CLI_WAIT_BLOCK_MS 10000   /* longest waitfornewblock of --wait (under RPC_CLIENT_TIMEOUT_MS) */
/* Default RPC ports are the network table's (core/network.h). */

/* A command-specific option: --name VALUE (has_value) or --name. */
struct cli_optdef {
	const char *name;
	int has_value;
};

struct cli_ctx;
typedef int (*cli_handler)(struct cli_ctx *ctx);

struct cli_command {
	const char *group;              /* first word: "wallet", "send" */
	const char *sub;                /* second word, or NULL for one-word commands */
	cli_handler run;
	const char *usage;              /* arguments and options after the words */
	const char *summary;            /* one line for help */
	const struct cli_optdef *opts;  /* ends with {NULL, 0}; NULL for none */
	int min_args, max_args;         /* positional arguments after the words */
};

/* The table, ended by a row whose group is NULL. */
extern const struct cli_command cli_commands[];

/* Global settings: flags first, then assay.conf, then defaults. */
struct cli_ctx {
	char datadir[CLI_PATH_MAX];
	char network[16];             /* dev, local, testnet, main */
	char rpcconnect[256];
	unsigned rpcport;             /* 0 until settled: then from the network */
	char rpcuser[256];
	char rpcpassword[256];
	char passphrase_file[CLI_PATH_MAX];
	char rpccookiefile[CLI_PATH_MAX]; /* -rpccookiefile: a cookie sent to any host */
	int stdin_rpcpass;            /* -stdinrpcpass: the RPC password on stdin's first line */
	int cookie_withheld;          /* DATADIR/.cookie not sent: -rpcconnect is not loopback */
	int json;                     /* --json: machine-readable output */
	int help;                     /* -help, or the word help */
	unsigned given;               /* CLI_SET_* bits: set on the command line */
	const struct cli_command *cmd; /* NULL: raw RPC (or help) */
	const char *opt_name[CLI_MAX_OPTS];  /* command options, in order given */
	const char *opt_value[CLI_MAX_OPTS]; /* "" for options without a value */
	int nopts;
	char **args;                  /* positionals after the command words; raw RPC:
					 method then params */
	int nargs;
	struct rpc_endpoint rpc;      /* filled by cli_settle() */
	/* The nonce after the last transaction this command signed, and its
	 * sender: a command that signs several (job submit: its blobs, the
	 * job, the salt) gives each the next nonce, with --nonce or --raw as
	 * without (cli_submit). */
	int signed_any;
	uint8_t signed_addr[ADDR_LEN];
	uint64_t next_nonce;
};

/* The connection settings' bits are client_opts' (its assay.conf key table
 * names them); -datadir's is one it does not use. */
enum {
	CLI_SET_NETWORK = CLIENT_SET_NETWORK,
	CLI_SET_RPCCONNECT = CLIENT_SET_RPCCONNECT,
	CLI_SET_RPCPORT = CLIENT_SET_RPCPORT,
	CLI_SET_RPCUSER = CLIENT_SET_RPCUSER,
	CLI_SET_RPCPASSWORD = CLIENT_SET_RPCPASSWORD,
	CLI_SET_DATADIR = CLIENT_SET_RPCPASSWORD << 1,
};

/* Parses argv into ctx (zeroed first). Reads no files. 0 or CLI_EUSAGE with
 * err filled. argv is permuted by getopt and must outlive ctx. */
int cli_parse(struct cli_ctx *ctx, int argc, char **argv, char *err, size_t errlen);
/* Takes the RPC password from stdin's first line (-stdinrpcpass) or
 * CLIENT_RPCPASSWORD_ENV, reads DATADIR/assay.conf (absent is fine) for
 * what flags did not set, picks the default port for the network, and
 * fills ctx->rpc. Without a user or password: -rpccookiefile's cookie, else
 * DATADIR/.cookie when -rpcconnect is loopback (rpc_client_host_is_loopback;
 * absent is fine until a call needs it), else none (ctx->cookie_withheld).
 * 0 or CLI_EUSAGE with err filled. */
int cli_settle(struct cli_ctx *ctx, char *err, size_t errlen);
/* Whole program: parse, settle, dispatch; returns the exit status. */
int cli_main(int argc, char **argv);

const struct cli_command *cli_find(const char *group, const char *sub);
/* The value of command option name, or NULL if not given. */
const char *cli_opt(const struct cli_ctx *ctx, const char *name);
/* 1 if the option was given. */
int cli_flag(const struct cli_ctx *ctx, const char *name);

/* Frees p (NULL: nothing) after zeroing the whole block malloc() gave it,
 * not only what was asked for: jansson's allocator in assay-cli
 * (cli_main sets it), so that its copies of a mnemonic or seed put in a
 * --json result, and of what it printed, are gone when they are freed.
 * stdio's own output buffer is not wiped. */
void cli_free_wiped(void *p);

/* Output. */
/* Removes from text, in place, the control characters but newline and tab:
 * C0, DEL and C1, both as U+0080..U+009F in UTF-8 and as the raw bytes
 * 0x80..0x9F outside well-formed UTF-8 (0x9B alone is CSI to an 8-bit
 * terminal), so that text a node sent cannot drive the terminal it is
 * printed on. Where the user's locale is not UTF-8 the terminal may read
 * bytes one by one, so every byte 0x80..0x9F goes, inside UTF-8
 * sequences too (cli_strip_controls_as with utf8 0). */
void cli_strip_controls(char *text);
void cli_strip_controls_as(char *text, int utf8);
/* Whether the locale these variables name (LC_ALL, else LC_CTYPE, else
 * LANG; NULL or empty: unset) uses UTF-8: unset, C and POSIX count as
 * UTF-8, a locale naming another charset does not. */
int cli_locale_is_utf8(const char *lc_all, const char *lc_ctype, const char *lang);
/* Prints "error: ..." on stderr, control characters stripped
 * (cli_strip_controls), and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "warning: ..." on stderr, control characters stripped. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints j: strings raw, anything else as indented JSON. Borrowed. */
void cli_print_json(const json_t *j);
/* With --json prints j; otherwise prints the human text. Steals j. */
void cli_emit(const struct cli_ctx *ctx, json_t *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Calls method (params: a JSON array, stolen; NULL = []); on CLI_OK *result
 * is a new reference. On failure prints the error (RPC errors as
 * "error: MESSAGE (code N)") and returns CLI_EFAIL or CLI_EUNREACHABLE. */
int cli_rpc(struct cli_ctx *ctx, const char *method, json_t *params, json_t **result);

/* What getchainparams says about the chain we talk to: the fee floor and
 * limits come from here, never from a copy of the genesis defaults. */
struct cli_chain {
	char network[NETWORK_NAME_MAX + 1]; /* the node's network name */
	enum network net;                   /* its address HRP family */
	uint8_t chain_id[HASH_LEN];         /* genesis hash */
	struct chain_params params;         /* min_fee, gas_price, limits */
};
int cli_get_chain(struct cli_ctx *ctx, struct cli_chain *chain);

/* Parses an amount option (ASY text); absent gives dflt. CLI_EUSAGE on error. */
int cli_amount_opt(const struct cli_ctx *ctx, const char *name, uint64_t dflt, uint64_t *units);
/* How a fee nobody named is reckoned from the node's parameters. */
enum cli_fee_default {
	CLI_FEE_OFFER, /* txbuild_default_fee: the floor with min_fee raised to TXBUILD_DEFAULT_FEE */
	CLI_FEE_FLOOR, /* exactly the floor, min_fee + gas x gas_price (protocol.md §5.1) */
};
/* The fee of a transaction with gas on chain: --fee as given, never raised,
 * but with gas a --fee below the floor is refused (CLI_EUSAGE) before
 * anything is signed; without --fee the default dflt, refused (CLI_EFAIL)
 * above TXBUILD_MAX_DEFAULT_FEE, since the node names the floor and a hostile
 * one could name any. Errors are printed; returns an enum cli_exit. */
int cli_fee_opt(const struct cli_ctx *ctx, const struct cli_chain *chain, uint64_t gas,
		enum cli_fee_default dflt, uint64_t *fee);
/* Resolves text to an address of chain's network: a bech32m address, or
 * (when allow_wallet) the name of a wallet in DATADIR. An address of another
 * network, or a malformed one, is CLI_EUSAGE; an unknown wallet CLI_EFAIL.
 * Errors are printed. */
int cli_resolve_address(struct cli_ctx *ctx, const char *text, const struct cli_chain *chain,
			int allow_wallet, char out[ADDR_STR_MAX], uint8_t addr[ADDR_LEN]);
/* The address family of the --network setting (no node needed). */
enum network cli_local_net(const struct cli_ctx *ctx);
/* Asks for the passphrase (--passphrase-file, ASSAY_PASSPHRASE, terminal)
 * and unlocks wallet name; CLI_EFAIL/CLI_EUSAGE with the error printed. */
int cli_unlock(struct cli_ctx *ctx, const char *name, struct keystore_key *key);

/* One transaction to submit from an unlocked key. */
struct cli_txreq {
	uint8_t kind;            /* enum tx_kind */
	const uint8_t *payload;  /* borrowed */
	size_t payload_len;
	uint64_t fee;            /* base units */
	uint64_t gas_limit;
	int preflight;           /* dry-run it first (cli_preflight.h): refuse a doomed
				    one unless the command's --force flag is given */
};
/* Fetches the sender's pending_nonce, builds, signs and sends req; writes the
 * txid hex (65 bytes). With req->preflight the signed tx is simulated first
 * and refused (CLI_EFAIL, "error: refused: ...", nothing sent) unless
 * --force; --raw sends nothing and skips it. Prints errors; returns an enum
 * cli_exit. */
int cli_submit(struct cli_ctx *ctx, const struct cli_chain *chain,
	       const struct keystore_key *key, const struct cli_txreq *req, char txid[65]);
/* Loads the signing key called name (a wallet: cli_unlock; a validator key
 * file: cli_validator.h); prints errors and returns an enum cli_exit. */
typedef int (*cli_key_loader)(struct cli_ctx *ctx, const char *name, struct keystore_key *key);
/* The one path of the commands that sign a transaction of kind with the
 * key named from: the fee is cli_fee_opt's (CLI_FEE_OFFER) for gas, and
 * --timeout bounds the wait; options are checked before the key is loaded
 * (no passphrase asked for a usage error). The tx is dry-run first (--force
 * sends a doomed one; --raw prints it unsent), submitted, and with wait
 * waited for: *committed is then its record (a new reference; NULL
 * otherwise), and a committed failure is CLI_EFAIL with the reason printed.
 * Writes the txid. Returns an enum cli_exit. */
int cli_send_from(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, cli_key_loader load,
		  uint8_t kind, const struct buf *payload, uint64_t gas, int wait, char txid[2 * HASH_LEN + 1],
		  json_t **committed);
/* Looks the tx up after each block (waitfornewblock; against a node without
 * it, every CLI_POLL_MS) until it is committed (then
 * *tx is its record, a new reference) or timeout_s passes (CLI_ETIMEOUT). */
int cli_wait_tx(struct cli_ctx *ctx, const char *txid, unsigned timeout_s, json_t **tx);
/* Waits for a block above *height (waitfornewblock, docs/rpc.md; *height
 * -1: above the tip) for at most max_ms, then *height is the tip; against a
 * node without the method, or on any failure, naps CLI_POLL_MS instead, so
 * callers loop as they would when polling. */
void cli_wait_block(struct cli_ctx *ctx, json_int_t *height, uint64_t max_ms);
/* A whole-number option in [least, 2^32): absent gives dflt; else a usage error. */
int cli_u32_opt(const struct cli_ctx *ctx, const char *name, uint32_t dflt, uint32_t least, uint32_t *out);
/* Parses an option holding whole seconds; absent gives dflt. */
int cli_seconds_opt(const struct cli_ctx *ctx, const char *name, unsigned dflt, unsigned *out);

#endif
