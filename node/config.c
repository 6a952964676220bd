/* Option table, parsing and help for assayd (see config.h). The file syntax
 * is core/conf.c's, shared with assay-cli and assay-worker. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/network.h"
#include "net/net.h"
#include "node/config.h"
#include "node/rpc.h"

enum opt_type { OPT_STR, OPT_INT, OPT_U64, OPT_BOOL, OPT_MULTI, OPT_CATS };

struct option_def {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size;     /* for strings: buffer size */
	size_t count_off; /* for multi: offset of the count */
	uint64_t min, max; /* OPT_INT, OPT_U64: accepted range (config_table_check) */
	const char *arg;
	const char *help;
};

#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, 0
#define I(f) offsetof(struct config, f), 0, 0, 0, 0
/* a number in [lo, hi]: every OPT_INT and OPT_U64 row needs one */
#define R(f, lo, hi) offsetof(struct config, f), 0, 0, (lo), (hi)
#define M(f, n) offsetof(struct config, f), sizeof(((struct config *)0)->f[0]), offsetof(struct config, n), 0, 0
#define CONFIG_MAX_CONNECTIONS 100000 /* far above what descriptors allow */
_Static_assert(RPC_MAX_ALLOW >= CONFIG_MAX_MULTI, "every -rpcallowip reaches the server");

static const struct option_def options[] = {
	{"datadir", OPT_STR, S(datadir), "DIR", "data directory (default ~/.assay)"},
	{"network", OPT_STR, S(network), "NAME", "dev, local or testnet (default dev)"},
	{"genesis", OPT_STR, S(genesis), "FILE",
	 "genesis file for local/testnet (default DATADIR/genesis.json, else the compiled testnet's)"},
	{"rpcbind", OPT_STR, S(rpcbind), "ADDR", "RPC listen address (default 127.0.0.1)"},
	{"rpcport", OPT_INT, R(rpcport, 1, 65535), "PORT", "RPC port, 1 to 65535 (default 29443 dev/local, 19443 testnet)"},
	{"rpcuser", OPT_STR, S(rpcuser), "USER", "RPC user (default: cookie authentication)"},
	{"rpcpassword", OPT_STR, S(rpcpassword), "PW", "RPC password (with -rpcuser)"},
	{"rpcallowip", OPT_MULTI, M(rpcallowip, nrpcallowip), "IP[/NET]",
	 "let RPC clients connect from this address or subnet: 192.0.2.7, 192.0.2.0/24, "
	 "192.0.2.0/255.255.255.0, 2001:db8::/32 (repeatable, at most 32; 127.0.0.1 and ::1 always may, "
	 "others get HTTP 403; -rpcbind beyond loopback needs one)"},
	{"rpcmaxconnections", OPT_INT, R(rpcmaxconnections, 1, CONFIG_MAX_CONNECTIONS), "N", "most RPC connections at once, 1 to 100000; more are closed on accept (default 64)"},
	{"port", OPT_INT, R(port, 1, 65535), "PORT", "p2p port, 1 to 65535 (default 29444 dev/local, 19444 testnet)"},
	{"listen", OPT_BOOL, I(listen), NULL, "accept p2p connections (default yes)"},
	{"bind", OPT_STR, S(bind), "ADDR", "p2p listen address (default 0.0.0.0)"},
	{"addnode", OPT_MULTI, M(addnode, naddnode), "HOST:PORT", "connect to this peer and keep it (repeatable, at most 32)"},
	{"connect", OPT_MULTI, M(connect, nconnect), "HOST:PORT", "connect only to these peers (repeatable, at most 32)"},
	{"seednode", OPT_MULTI, M(seednode, nseednode), "HOST:PORT",
	 "learn peers from this node, with the compiled network's seeds (repeatable, at most 32; a name is resolved once)"},
	{"maxconnections", OPT_INT, R(maxconnections, 1, CONFIG_MAX_CONNECTIONS), "N", "most p2p connections, 1 to 100000, above 256 lowered to 256 with a warning (default 64)"},
	{"blocktime", OPT_U64, R(blocktime, 0, 3600000), "MS", "dev producer: ms between blocks, up to 3600000 (default: the chain's, 1000 on dev)"},
	{"reindex", OPT_BOOL, I(reindex), NULL, "rebuild the state from stored blocks, checking every state root"},
	{"addrindex", OPT_BOOL, I(addrindex), NULL, "keep an address index for listtransactions (default no; built on first start)"},
	{"validator", OPT_STR, S(validator), "FILE", "validator key file (dev: the built-in dev key)"},
	{"novalidator", OPT_BOOL, I(novalidator), NULL, "never sign or produce blocks"},
	{"testdoublesign", OPT_BOOL, I(testdoublesign), NULL,
	 "TESTS ONLY: sign a second, conflicting prevote and precommit in every round so that the other validators "
	 "see duplicate-vote evidence; refused unless the network is dev or local and ASSAY_TESTING=1 is set"},
	{"verifythreads", OPT_INT, R(verifythreads, 0, 1024), "N", "threads for signature checks, 0 to 1024 (default 0: one per CPU); at most 64 run (SIGCHECK_MAX_THREADS)"},
	{"minfreespace", OPT_U64, R(minfreespace, 0, 1ull << 40), "MB",
	 "refuse to start, and stop before a block, below MB free under the datadir (default 100; 0: off)"},
	{"debug", OPT_CATS, I(debug), "CATS",
	 "debug lines of these categories (comma-separated, repeatable): net, mempool, rpc, consensus, "
	 "compute; -debug, -debug=1 or -debug=all: all; -nodebug: none"},
	{"loglevel", OPT_STR, S(loglevel), "LEVEL", "log level: debug, info, warn, error (default info)"},
	{"printtoconsole", OPT_BOOL, I(printtoconsole), NULL, "log to stderr as well as debug.log (default yes)"},
	{"help", OPT_BOOL, I(help), NULL, "print this help and exit"},
	{"version", OPT_BOOL, I(version), NULL, "print the version and exit"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* Which options the command line set, so the file does not override them. */
static unsigned char set_by_args[NOPTIONS];

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	const char *home = getenv("HOME");
	snprintf(c->datadir, sizeof(c->datadir), "%s/.assay", home ? home : ".");
	snprintf(c->network, sizeof(c->network), "dev");
	snprintf(c->rpcbind, sizeof(c->rpcbind), "127.0.0.1");
	snprintf(c->bind, sizeof(c->bind), "0.0.0.0");
	snprintf(c->loglevel, sizeof(c->loglevel), "info");
	c->listen = 1;
	c->maxconnections = NET_DEFAULT_MAX_CONNECTIONS; /* one figure: docs/p2p.md §8 */
	c->minfreespace = CONFIG_DEFAULT_MINFREESPACE_MB;
	c->rpcmaxconnections = RPC_DEFAULT_MAX_CONNECTIONS;
	c->printtoconsole = 1;
	memset(set_by_args, 0, sizeof(set_by_args));
}

static const struct option_def *find_option(const char *name, size_t len, int *negated)
{
	*negated = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < NOPTIONS; i++)
			if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
				return &options[i];
		/* -noNAME: set_option refuses it unless NAME is a yes/no option */
		if (pass == 0 && len > 2 && strncmp(name, "no", 2) == 0) {
			name += 2;
			len -= 2;
			*negated = 1;
		} else {
			break;
		}
	}
	*negated = 0;
	return NULL;
}

static int set_option(struct config *c, const struct option_def *o, int negated, const char *value,
		      char *err, size_t errlen)
{
	char *field = (char *)c + o->off;
	/* -noNAME only clears a yes/no option or the -debug categories: on a
	 * text option it made the value "0" (-norpcbind bound RPC to 0.0.0.0,
	 * -norpcpassword set the password "0"), on others it meant nothing. */
	if (negated && o->type != OPT_BOOL && o->type != OPT_CATS) {
		snprintf(err, errlen, "-no%s: -%s is not a yes/no option; give -%s=%s", o->name, o->name, o->name,
			 o->arg ? o->arg : "VALUE");
		return ASSAY_EARG;
	}
	/* No text option has a meaning for "": -datadir= read past the end of
	 * the path, -rpcbind= and -validator= fell back to a default the
	 * operator did not ask for. */
	if ((o->type == OPT_STR || o->type == OPT_MULTI) && value && !value[0]) {
		snprintf(err, errlen, "-%s is empty: give -%s=%s, or leave the option out", o->name, o->name,
			 o->arg ? o->arg : "VALUE");
		return ASSAY_EARG;
	}
	switch (o->type) {
	case OPT_BOOL: {
		/* -name, -name=1 set it; -noname, -noname=1, -name=0 clear it. */
		int yes;
		if (!value || strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			yes = 1;
		else if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			yes = 0;
		else
			goto bad;
		*(int *)field = negated ? !yes : yes;
		return 0;
	}
	case OPT_STR:
		if (!value || strlen(value) >= o->size)
			goto bad;
		snprintf(field, o->size, "%s", value);
		return 0;
	case OPT_INT:
	case OPT_U64: {
		uint64_t v;
		if (!value)
			goto bad;
		if (conf_parse_u64(o->name, value, o->min, o->max, &v, err, errlen) < 0)
			return ASSAY_EARG;
		if (o->type == OPT_INT)
			*(int *)field = (int)v;
		else
			*(uint64_t *)field = v;
		return 0;
	}
	case OPT_CATS: {
		unsigned *mask = (unsigned *)field;
		if (negated) {
			*mask = 0;
			return 0;
		}
		return log_parse_categories(value ? value : "1", mask, err, errlen);
	}
	case OPT_MULTI: {
		int *count = (int *)((char *)c + o->count_off);
		if (!value || strlen(value) >= o->size)
			goto bad;
		if (*count >= CONFIG_MAX_MULTI) {
			snprintf(err, errlen, "too many -%s options (at most %d)", o->name, CONFIG_MAX_MULTI);
			return ASSAY_EARG;
		}
		snprintf(field + (size_t)*count * o->size, o->size, "%s", value);
		(*count)++;
		return 0;
	}
	}
bad:
	snprintf(err, errlen, "invalid value for -%s%s%s", o->name, value ? ": " : "", value ? value : " (needs a value)");
	return ASSAY_EARG;
}

int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			snprintf(err, errlen, "unexpected argument \"%s\" (options start with -)", a);
			return ASSAY_EARG;
		}
		a += a[1] == '-' ? 2 : 1;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		int negated;
		const struct option_def *o = find_option(a, len, &negated);
		if (!o) {
			snprintf(err, errlen, "unknown option %s (see -help)", argv[i]);
			return ASSAY_EARG;
		}
		int rc = set_option(c, o, negated, eq ? eq + 1 : NULL, err, errlen);
		if (rc)
			return rc;
		set_by_args[o - options] = 1;
	}
	return 0;
}

int config_from_args(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return set_by_args[i];
	return 0;
}

static int file_entry(void *arg, const char *name, const char *value, char *err, size_t errlen)
{
	struct config *c = arg;
	int negated;
	const struct option_def *o = find_option(name, strlen(name), &negated);
	if (!o || strcmp(o->name, "datadir") == 0 || strcmp(o->name, "help") == 0 ||
	    strcmp(o->name, "version") == 0) {
		snprintf(err, errlen, "unknown option \"%s\" (see assayd -help)", name);
		return ASSAY_EARG;
	}
	if (set_by_args[o - options])
		return 0; /* the command line wins, repeatable options included */
	return set_option(c, o, negated, value, err, errlen);
}

int config_read_file(struct config *c, const char *path, char *err, size_t errlen)
{
	return conf_read_file(path, file_entry, c, NULL, err, errlen);
}

int config_table_check(char *err, size_t errlen)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		if ((o->type == OPT_INT || o->type == OPT_U64) &&
		    (o->max == 0 || o->min > o->max || (o->type == OPT_INT && o->max > INT_MAX))) {
			snprintf(err, errlen, "option -%s has no valid range", o->name);
			return ASSAY_EARG;
		}
	}
	return 0;
}

void config_finish(struct config *c)
{
	const struct network_info *net = network_find(c->network);
	if (!net)
		net = network_find("dev"); /* assayd refuses the name later */
	if (!c->rpcport)
		c->rpcport = net->rpc_port;
	if (!c->port)
		c->port = net->p2p_port;
	if (strcmp(c->validator, "0") == 0)
		c->novalidator = 1;
}

int config_rpc_allow(const struct config *c, struct rpc_allow *out, char *err, size_t errlen)
{
	for (int i = 0; i < c->nrpcallowip; i++)
		if (rpc_allow_parse(c->rpcallowip[i], &out[i], err, errlen) < 0)
			return ASSAY_EARG;
	if (c->nrpcallowip == 0 && !rpc_bind_is_loopback(c->rpcbind)) {
		snprintf(err, errlen,
			 "-rpcbind=%s reaches beyond this machine, but without -rpcallowip only "
			 "127.0.0.1 and ::1 may connect: add -rpcallowip=ADDR or ADDR/BITS for the "
			 "clients meant to reach it",
			 c->rpcbind);
		return ASSAY_EARG;
	}
	return c->nrpcallowip;
}

void config_print_help(const char *prog)
{
	printf("Usage: %s [options]\n\nAssay full node. Options take the form -name=value or --name=value;\n"
	       "a yes/no option is set by -name and cleared by -noname (-nodebug clears\n"
	       "the debug categories; -noname is refused for any other option). Every option may\n"
	       "also be given in DATADIR/assay.conf as name=value (the command line wins);\n"
	       "comments there are lines of their own that start with #, and a # in a value\n"
	       "is refused. Numbers outside an option's range and empty values are refused\n"
	       "before anything starts (exit status 2). SIGINT or SIGTERM stops the node\n"
	       "cleanly (a repeat while it stops is logged and changes nothing); SIGHUP\n"
	       "reopens debug.log (for logrotate).\n\n",
	       prog);
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "-%s%s%s", options[i].name, options[i].arg ? "=" : "",
			 options[i].arg ? options[i].arg : "");
		printf("  %-26s %s\n", left, options[i].help);
	}
}
