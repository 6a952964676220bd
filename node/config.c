/* Option table, parsing and help for assayd (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/network.h"
#include "node/config.h"

enum opt_type { OPT_STR, OPT_INT, OPT_U64, OPT_BOOL, OPT_MULTI };

struct option_def {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size;     /* for strings: buffer size */
	size_t count_off; /* for multi: offset of the count */
	const char *arg;
	const char *help;
};

#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f), 0
#define I(f) offsetof(struct config, f), 0, 0
#define M(f, n) offsetof(struct config, f), sizeof(((struct config *)0)->f[0]), offsetof(struct config, n)

static const struct option_def options[] = {
	{"datadir", OPT_STR, S(datadir), "DIR", "data directory (default ~/.assay)"},
	{"network", OPT_STR, S(network), "NAME", "dev, local or testnet (default dev)"},
	{"genesis", OPT_STR, S(genesis), "FILE",
	 "genesis file for local/testnet (default DATADIR/genesis.json, else the compiled testnet's)"},
	{"rpcbind", OPT_STR, S(rpcbind), "ADDR", "RPC listen address (default 127.0.0.1)"},
	{"rpcport", OPT_INT, I(rpcport), "PORT", "RPC port (default 29443 dev/local, 19443 testnet)"},
	{"rpcuser", OPT_STR, S(rpcuser), "USER", "RPC user (default: cookie authentication)"},
	{"rpcpassword", OPT_STR, S(rpcpassword), "PW", "RPC password (with -rpcuser)"},
	{"rpcmaxconnections", OPT_INT, I(rpcmaxconnections), "N", "most RPC connections at once; more are closed on accept (default 64)"},
	{"port", OPT_INT, I(port), "PORT", "p2p port (default 29444 dev/local, 19444 testnet)"},
	{"listen", OPT_BOOL, I(listen), NULL, "accept p2p connections (default yes)"},
	{"bind", OPT_STR, S(bind), "ADDR", "p2p listen address (default 0.0.0.0)"},
	{"addnode", OPT_MULTI, M(addnode, naddnode), "HOST:PORT", "connect to this peer and keep it (repeatable)"},
	{"connect", OPT_MULTI, M(connect, nconnect), "HOST:PORT", "connect only to these peers (repeatable)"},
	{"seednode", OPT_MULTI, M(seednode, nseednode), "HOST:PORT",
	 "learn peers from this node, with the compiled network's seeds (repeatable; a name is resolved once)"},
	{"maxconnections", OPT_INT, I(maxconnections), "N", "most p2p connections (default 64)"},
	{"blocktime", OPT_U64, I(blocktime), "MS", "dev producer: ms between blocks (default: the chain's, 1000 on dev)"},
	{"reindex", OPT_BOOL, I(reindex), NULL, "rebuild the state from stored blocks, checking every state root"},
	{"addrindex", OPT_BOOL, I(addrindex), NULL, "keep an address index for listtransactions (default no; built on first start)"},
	{"validator", OPT_STR, S(validator), "FILE", "validator key file (dev: the built-in dev key)"},
	{"novalidator", OPT_BOOL, I(novalidator), NULL, "never sign or produce blocks"},
	{"testdoublesign", OPT_BOOL, I(testdoublesign), NULL,
	 "TESTS ONLY: sign a second, conflicting prevote and precommit in every round so that the other validators "
	 "see duplicate-vote evidence; refused unless the network is dev or local and ASSAY_TESTING=1 is set"},
	{"verifythreads", OPT_INT, I(verifythreads), "N", "threads for signature checks (default: CPUs)"},
	{"minfreespace", OPT_U64, I(minfreespace), "MB",
	 "refuse to start, and stop before a block, below MB free under the datadir (default 100; 0: off)"},
	{"debug", OPT_STR, S(debug), "LEVEL", "log level: debug, info, warn, error (default info)"},
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
	snprintf(c->debug, sizeof(c->debug), "info");
	c->listen = 1;
	c->maxconnections = 64;
	c->minfreespace = CONFIG_DEFAULT_MINFREESPACE_MB;
	c->rpcmaxconnections = 64;
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
		/* -noNAME for a boolean */
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
	char *end;
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
		if (negated) {
			snprintf(field, o->size, "0");
			return 0;
		}
		if (!value || strlen(value) >= o->size)
			goto bad;
		snprintf(field, o->size, "%s", value);
		return 0;
	case OPT_INT: {
		if (!value || negated)
			goto bad;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (*end || errno || v < 0 || v > 65535 * 1024L)
			goto bad;
		*(int *)field = (int)v;
		return 0;
	}
	case OPT_U64: {
		if (!value || negated || *value == '-')
			goto bad;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (*end || errno)
			goto bad;
		*(uint64_t *)field = v;
		return 0;
	}
	case OPT_MULTI: {
		int *count = (int *)((char *)c + o->count_off);
		if (!value || negated || strlen(value) >= o->size)
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

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int config_read_file(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0; /* optional */
	char line[2048];
	int lineno = 0, rc = 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected name=value", path, lineno);
			rc = ASSAY_EARG;
			break;
		}
		*eq = 0;
		char *name = trim(s), *value = trim(eq + 1);
		int negated;
		const struct option_def *o = find_option(name, strlen(name), &negated);
		if (!o || strcmp(o->name, "datadir") == 0) {
			snprintf(err, errlen, "%s:%d: unknown option \"%s\"", path, lineno, name);
			rc = ASSAY_EARG;
			break;
		}
		if (set_by_args[o - options])
			continue;
		char sub[300];
		rc = set_option(c, o, negated, value, sub, sizeof(sub));
		if (rc)
			snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
	}
	fclose(f);
	return rc;
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

void config_print_help(const char *prog)
{
	printf("Usage: %s [options]\n\nAssay full node. Options take the form -name=value or --name=value;\n"
	       "a yes/no option is set by -name and cleared by -noname. Every option may\n"
	       "also be given in DATADIR/assay.conf as name=value (the command line wins).\n\n",
	       prog);
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "-%s%s%s", options[i].name, options[i].arg ? "=" : "",
			 options[i].arg ? options[i].arg : "");
		printf("  %-26s %s\n", left, options[i].help);
	}
}
