/* The flags and assay.conf keys that the long-running clients (assay-worker,
 * assay-faucet) take the same way: where the data directory and the node
 * are, the wallet key and its passphrase, the HTTP address, and the
 * getopt loop around a program's own flags, with one set of messages.
 * Not for: a program's own flags and their meaning (its own table), the
 * node's options (node/config.c), assay-cli's flags (wallet/cli.c; it reads
 * the same assay.conf keys through client_opts_node_key). */
#ifndef ASSAY_WALLET_CLIENT_OPTS_H
#define ASSAY_WALLET_CLIENT_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/network.h"
#include "wallet/client_app.h"
#include "wallet/client_chain.h"
#include "wallet/keystore.h"

/* The RPC password when no flag gives it: unlike a flag, the environment
 * of a process is readable only by its user (and root), not in ps. */
#define CLIENT_RPCPASSWORD_ENV "ASSAY_RPCPASSWORD"

/* getopt codes of the shared flags; a program's own codes start at
 * CLIENT_OPT_OWN. */
enum client_opt {
	CLIENT_OPT_DATADIR = 1,
	CLIENT_OPT_NETWORK,
	CLIENT_OPT_RPCCONNECT,
	CLIENT_OPT_RPCPORT,
	CLIENT_OPT_RPCUSER,
	CLIENT_OPT_RPCPASSWORD,
	CLIENT_OPT_RPCCOOKIEFILE,
	CLIENT_OPT_WALLET,
	CLIENT_OPT_PASSFILE,
	CLIENT_OPT_LISTEN,
	CLIENT_OPT_OWN,
};

/* The shared flags' rows of a getopt_long table. */
/* clang-format off */
#define CLIENT_OPTS_LONG \
	{"datadir", required_argument, NULL, CLIENT_OPT_DATADIR}, \
	{"network", required_argument, NULL, CLIENT_OPT_NETWORK}, \
	{"rpcconnect", required_argument, NULL, CLIENT_OPT_RPCCONNECT}, \
	{"rpcport", required_argument, NULL, CLIENT_OPT_RPCPORT}, \
	{"rpcuser", required_argument, NULL, CLIENT_OPT_RPCUSER}, \
	{"rpcpassword", required_argument, NULL, CLIENT_OPT_RPCPASSWORD}, \
	{"rpccookiefile", required_argument, NULL, CLIENT_OPT_RPCCOOKIEFILE}, \
	{"wallet", required_argument, NULL, CLIENT_OPT_WALLET}, \
	{"passphrase-file", required_argument, NULL, CLIENT_OPT_PASSFILE}, \
	{"listen", required_argument, NULL, CLIENT_OPT_LISTEN}
/* clang-format on */

/* Which of the node's connection settings a flag gave (a file gives only
 * the others). */
enum {
	CLIENT_SET_NETWORK = 1u << 0,
	CLIENT_SET_RPCCONNECT = 1u << 1,
	CLIENT_SET_RPCPORT = 1u << 2,
	CLIENT_SET_RPCUSER = 1u << 3,
	CLIENT_SET_RPCPASSWORD = 1u << 4,
};

struct client_opts {
	char datadir[CLIENT_APP_PATH_MAX];
	char network[NETWORK_NAME_MAX + 1]; /* empty until a flag or file names one */
	char rpcconnect[256];
	unsigned rpcport; /* 0: the network's */
	char rpcuser[256], rpcpassword[256];
	char rpccookiefile[CLIENT_APP_PATH_MAX]; /* -rpccookiefile: a cookie sent to any host */
	char wallet[KEYSTORE_NAME_MAX + 1];
	char passphrase_file[CLIENT_APP_PATH_MAX];
	char listen[256];  /* HOST:PORT of the program's HTTP server */
	unsigned given;    /* CLIENT_SET_*: given on the command line */
	uint64_t flags;    /* bit 1 << code for each flag code (shared or own) on the command line */
	int network_named; /* a flag or the file named the network */
};

/* Defaults: ~/.assay, the node on 127.0.0.1, the HTTP server on listen. */
void client_opts_init(struct client_opts *o, const char *listen);

/* Sets shared option `code` to value (-listen checked as HOST:PORT). 0; 1
 * when code is not a shared one;
 * or ASSAY_EARG with err filled ("-NAME ..."). Marks CLIENT_SET_* when
 * from_flag. */
int client_opts_set(struct client_opts *o, int code, const char *value, int from_flag, char *err,
		    size_t errlen);

/* A program's own flag: 0, or a negative code (err filled, or empty for
 * "bad value for -NAME"). */
typedef int (*client_opts_own_fn)(void *ctx, int code, const char *value, char *err, size_t errlen);

/* getopt_long_only over argv with table (CLIENT_OPTS_LONG and the
 * program's rows): shared flags go to o, the others to own. 0, or -1 with
 * "error: ..." on stderr (an unknown flag, a bad value, a stray argument). */
int client_opts_parse(struct client_opts *o, int argc, char **argv, const struct option *table,
		      client_opts_own_fn own, void *ctx);

/* The node's assay.conf connection keys every client reads, assay-cli
 * included: network, rpcconnect, rpcport, rpcuser and rpcpassword. The
 * CLIENT_OPT_* code of name with its CLIENT_SET_* bit in *bit, or 0 (and
 * *bit 0) for the node's other names, which clients leave alone. */
int client_opts_node_key(const char *name, unsigned *bit);

/* One entry of the node's assay.conf (a conf_entry_fn; ctx is the struct
 * client_opts): network, rpcconnect, rpcport, rpcuser and rpcpassword when
 * no flag gave them; the node's other names are left alone. */
int client_opts_node_entry(void *ctx, const char *name, const char *value, char *err, size_t errlen);

/* Reads path (NULL: DATADIR/assay.conf, which may be absent; a named path
 * must exist) with fn (NULL: client_opts_node_entry on o). 0, or -1 with
 * "error: PATH:LINE: why" on stderr. */
int client_opts_read_conf(struct client_opts *o, const char *path, conf_entry_fn fn, void *ctx);

/* After the flags and the file: the network (default_network when none was
 * named) into *net, the default -rpcport, and a -wallet required. 0, or -1 with "error: ..." on stderr. */
int client_opts_finish(struct client_opts *o, const char *default_network, const struct network_info **net);

/* -listen's HOST:PORT split, PORT 1..65535: 0, or ASSAY_EARG with err. */
int client_opts_listen_split(const char *listen, char *host, size_t cap, uint16_t *port, char *err,
			     size_t errlen);

/* The clients' start: the node connection (a missing DATADIR/.cookie is
 * warned about: the node may start later; an unreadable -rpccookiefile is
 * an error), the wallet unlocked into key and addr,
 * and the chain the node is on from getchainparams, refused when it is not
 * -network's (if one was named) or names a compiled chain with another id
 * (client_chain_check). 0, or -1 logged. */
int client_opts_start(const struct client_opts *o, struct client_app_conn *conn, struct keystore_key *key,
		      uint8_t addr[ADDR_LEN], struct client_chain *chain);

#endif
