/* The flags, assay.conf keys and start that assay-worker and assay-faucet
 * share (wallet/client_opts.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "wallet/client_opts.h"

void client_opts_init(struct client_opts *o, const char *listen)
{
	const char *home = getenv("HOME");
	memset(o, 0, sizeof(*o));
	snprintf(o->datadir, sizeof(o->datadir), "%s/.assay", home ? home : ".");
	snprintf(o->rpcconnect, sizeof(o->rpcconnect), "127.0.0.1");
	snprintf(o->listen, sizeof(o->listen), "%s", listen);
}

static int copy_value(char *dst, size_t cap, const char *value, const char *name, char *err, size_t errlen)
{
	if (strlen(value) >= cap) {
		snprintf(err, errlen, "-%s is too long", name);
		return ASSAY_EARG;
	}
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* A string field's offset and capacity. */
#define FIELD(f) offsetof(struct client_opts, f), sizeof(((struct client_opts *)0)->f)

int client_opts_set(struct client_opts *o, int code, const char *value, int from_flag, char *err,
		    size_t errlen)
{
	static const struct {
		int code;
		const char *name;
		size_t off, cap;
		unsigned bit; /* CLIENT_SET_*, 0: not a node connection setting */
	} strings[] = {
		{CLIENT_OPT_DATADIR, "datadir", FIELD(datadir), 0},
		{CLIENT_OPT_NETWORK, "network", FIELD(network), CLIENT_SET_NETWORK},
		{CLIENT_OPT_RPCCONNECT, "rpcconnect", FIELD(rpcconnect), CLIENT_SET_RPCCONNECT},
		{CLIENT_OPT_RPCUSER, "rpcuser", FIELD(rpcuser), CLIENT_SET_RPCUSER},
		{CLIENT_OPT_RPCPASSWORD, "rpcpassword", FIELD(rpcpassword), CLIENT_SET_RPCPASSWORD},
		{CLIENT_OPT_RPCCOOKIEFILE, "rpccookiefile", FIELD(rpccookiefile), 0},
		{CLIENT_OPT_WALLET, "wallet", FIELD(wallet), 0},
		{CLIENT_OPT_PASSFILE, "passphrase-file", FIELD(passphrase_file), 0},
		{CLIENT_OPT_LISTEN, "listen", FIELD(listen), 0},
	};
	if (code == CLIENT_OPT_RPCPORT) {
		uint64_t port;
		if (conf_parse_u64("rpcport", value, 1, 65535, &port, err, errlen) != 0)
			return ASSAY_EARG;
		o->rpcport = (unsigned)port;
		if (from_flag)
			o->given |= CLIENT_SET_RPCPORT;
		return 0;
	}
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strings[i].code != code)
			continue;
		int rc = copy_value((char *)o + strings[i].off, strings[i].cap, value, strings[i].name, err,
				    errlen);
		if (rc)
			return rc;
		char host[256];
		uint16_t port;
		if (code == CLIENT_OPT_LISTEN &&
		    client_opts_listen_split(value, host, sizeof(host), &port, err, errlen) != 0)
			return ASSAY_EARG;
		if (from_flag)
			o->given |= strings[i].bit;
		if (code == CLIENT_OPT_NETWORK)
			o->network_named = 1;
		return 0;
	}
	return 1;
}

int client_opts_parse(struct client_opts *o, int argc, char **argv, const struct option *table,
		      client_opts_own_fn own, void *ctx)
{
	int ch;
	char err[300];
	opterr = 0;
	while ((ch = getopt_long_only(argc, argv, ":", table, NULL)) != -1) {
		err[0] = 0;
		if (ch == '?' || ch == ':') {
			fprintf(stderr, "error: unknown or incomplete option %s (see -help)\n",
				argv[optind - 1]);
			return -1;
		}
		if (ch < 64)
			o->flags |= 1ull << ch;
		int rc = client_opts_set(o, ch, optarg, 1, err, sizeof(err));
		if (rc == 1)
			rc = own(ctx, ch, optarg, err, sizeof(err));
		if (rc < 0) {
			if (err[0])
				fprintf(stderr, "error: %s\n", err);
			else
				fprintf(stderr, "error: bad value for %s (see -help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	/* the environment's password stands in for the flag, ahead of the file */
	const char *env = getenv(CLIENT_RPCPASSWORD_ENV);
	if (!(o->given & CLIENT_SET_RPCPASSWORD) && env && *env) {
		if (client_opts_set(o, CLIENT_OPT_RPCPASSWORD, env, 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "error: %s is too long\n", CLIENT_RPCPASSWORD_ENV);
			return -1;
		}
	}
	return 0;
}

int client_opts_node_key(const char *name, unsigned *bit)
{
	static const struct {
		const char *name;
		int code;
		unsigned bit;
	} keys[] = {
		{"network", CLIENT_OPT_NETWORK, CLIENT_SET_NETWORK},
		{"rpcconnect", CLIENT_OPT_RPCCONNECT, CLIENT_SET_RPCCONNECT},
		{"rpcport", CLIENT_OPT_RPCPORT, CLIENT_SET_RPCPORT},
		{"rpcuser", CLIENT_OPT_RPCUSER, CLIENT_SET_RPCUSER},
		{"rpcpassword", CLIENT_OPT_RPCPASSWORD, CLIENT_SET_RPCPASSWORD},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i].name) == 0) {
			*bit = keys[i].bit;
			return keys[i].code;
		}
	*bit = 0;
	return 0;
}

int client_opts_node_entry(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct client_opts *o = ctx;
	unsigned bit;
	int code = client_opts_node_key(name, &bit);
	if (!code || (o->given & bit))
		return 0;
	return client_opts_set(o, code, value, 0, err, errlen);
}

int client_opts_read_conf(struct client_opts *o, const char *path, conf_entry_fn fn, void *ctx)
{
	char def[CLIENT_APP_PATH_MAX + 16], err[CLIENT_APP_PATH_MAX + 300];
	const char *file = path;
	int found;
	if (!file) {
		snprintf(def, sizeof(def), "%s/assay.conf", o->datadir);
		file = def;
	}
	if (!fn) {
		fn = client_opts_node_entry;
		ctx = o;
	}
	if (conf_read_file(file, fn, ctx, &found, err, sizeof(err)) != 0) {
		fprintf(stderr, "error: %s\n", err);
		return -1;
	}
	if (path && !found) {
		fprintf(stderr, "error: -conf=%s: no such file\n", path);
		return -1;
	}
	return 0;
}

int client_opts_listen_split(const char *listen, char *host, size_t cap, uint16_t *port, char *err,
			     size_t errlen)
{
	const char *colon = strrchr(listen, ':');
	uint64_t v;
	char why[160];
	if (!colon || (size_t)(colon - listen) >= cap ||
	    conf_parse_u64("listen", colon + 1, 1, 65535, &v, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "-listen=%s: expected HOST:PORT with PORT a number from 1 to 65535",
			 listen);
		return ASSAY_EARG;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	*port = (uint16_t)v;
	return 0;
}

int client_opts_finish(struct client_opts *o, const char *default_network, const struct network_info **net)
{
	if (!o->network[0])
		snprintf(o->network, sizeof(o->network), "%s", default_network);
	*net = network_find(o->network);
	if (!*net) {
		fprintf(stderr, "error: unknown network \"%s\" (dev, local or testnet)\n", o->network);
		return -1;
	}
	if (!o->rpcport)
		o->rpcport = (*net)->rpc_port;
	if (!keystore_name_valid(o->wallet)) {
		fprintf(stderr, "error: -wallet=NAME is required (a wallet in DATADIR/wallet)\n");
		return -1;
	}
	return 0;
}

int client_opts_start(const struct client_opts *o, struct client_app_conn *conn, struct keystore_key *key,
		      uint8_t addr[ADDR_LEN], struct client_chain *chain)
{
	errno = 0;
	if (client_app_connect(conn, o->rpcconnect, o->rpcport, o->rpcuser, o->rpcpassword, o->rpccookiefile,
			       o->datadir) < 0) {
		if (conn->cookie_named) {
			log_error("cannot read -rpccookiefile=%s: %s", o->rpccookiefile,
				  errno ? strerror(errno) : "no line in it");
			return -1;
		}
		if (conn->cookie_withheld)
			log_warn("-rpcconnect=%s is not a loopback address: %s/.cookie is not sent to it; "
				 "give -rpcuser with %s (or -rpcpassword), or name the cookie with "
				 "-rpccookiefile=PATH",
				 o->rpcconnect, o->datadir, CLIENT_RPCPASSWORD_ENV);
		else
			log_warn("no %s/.cookie yet: is the node running with this -datadir?", o->datadir);
	}
	if (client_app_unlock(o->datadir, o->wallet, o->passphrase_file, key, addr) < 0)
		return -1;
	struct rpc_failure fail;
	json_t *info;
	char err[256];
	if (client_app_call(conn, "getchainparams", NULL, &info, &fail) != 0) {
		log_error("cannot reach the node at %s:%u: %s", conn->ep.host, (unsigned)conn->ep.port,
			  fail.message);
		return -1;
	}
	int rc = client_chain_parse(info, chain, err, sizeof(err));
	json_decref(info);
	/* a chain compiled into the programs must come with its own id, and its
	 * id under no other network's name: a node lying so would have our key
	 * sign there. The network itself must be -network where one was named
	 * (without one, these programs follow the node). */
	if (!rc)
		rc = client_chain_check(chain, chain->network->name, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return -1;
	}
	if (o->network_named && strcmp(chain->network->name, o->network) != 0) {
		log_error("the node at %s:%u is on network %s, not %s (-network)", conn->ep.host,
			  (unsigned)conn->ep.port, chain->network->name, o->network);
		return -1;
	}
	return 0;
}
