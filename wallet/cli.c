/* The frame of assay-cli (see cli.h): parsing, settings, output and the
 * helpers shared by command groups. Command handlers live in cli_commands.c. */
#define _GNU_SOURCE /* GNU getopt_long_only */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/tx.h"
#include "wallet/amount.h"
#include "wallet/cli.h"
#include "wallet/cli_preflight.h"
#include "wallet/client_chain.h"
#include "wallet/client_opts.h"
#include "wallet/passphrase.h"
#include "wallet/txbuild.h"

/* getopt codes for the global options; command options get CLI_OPT_CMD + i. */
/* The connection flags carry client_opts' codes, which its assay.conf key
 * table (client_opts_node_key) gives back. */
enum {
	OPT_DATADIR = CLIENT_OPT_DATADIR,
	OPT_NETWORK = CLIENT_OPT_NETWORK,
	OPT_RPCCONNECT = CLIENT_OPT_RPCCONNECT,
	OPT_RPCPORT = CLIENT_OPT_RPCPORT,
	OPT_RPCUSER = CLIENT_OPT_RPCUSER,
	OPT_RPCPASSWORD = CLIENT_OPT_RPCPASSWORD,
	OPT_PASSFILE = CLIENT_OPT_PASSFILE,
	OPT_JSON = CLIENT_OPT_OWN,
	OPT_HELP,
	OPT_STDINRPCPASS,
	OPT_RPCCOOKIEFILE,
	CLI_OPT_CMD = 1000,
};

static const struct option global_opts[] = {
	{"datadir", required_argument, NULL, OPT_DATADIR},
	{"network", required_argument, NULL, OPT_NETWORK},
	{"rpcconnect", required_argument, NULL, OPT_RPCCONNECT},
	{"rpcport", required_argument, NULL, OPT_RPCPORT},
	{"rpcuser", required_argument, NULL, OPT_RPCUSER},
	{"rpcpassword", required_argument, NULL, OPT_RPCPASSWORD},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, OPT_HELP},
	{"passphrase-file", required_argument, NULL, OPT_PASSFILE},
	{"stdinrpcpass", no_argument, NULL, OPT_STDINRPCPASS},
	{"rpccookiefile", required_argument, NULL, OPT_RPCCOOKIEFILE},
	{NULL, 0, NULL, 0}, /* getopt_long_only reads up to this row */
};
#define N_GLOBAL_OPTS (sizeof(global_opts) / sizeof(global_opts[0]) - 1) /* without the end row */
#define MAX_CMD_OPTDEFS 32 /* options one command may declare */

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CLI_EUSAGE;
}

static int copy_setting(char *dst, size_t cap, const char *value, const char *name, char *err,
			size_t errlen)
{
	if (strlen(value) >= cap)
		return usage_err(err, errlen, "-%s is too long", name);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* Applies one global option (from a flag or assay.conf). */
static int apply_global(struct cli_ctx *ctx, int code, const char *value, char *err,
			size_t errlen)
{
	switch (code) {
	case OPT_DATADIR:
		ctx->given |= CLI_SET_DATADIR;
		return copy_setting(ctx->datadir, sizeof(ctx->datadir), value, "datadir", err, errlen);
	case OPT_NETWORK:
		ctx->given |= CLI_SET_NETWORK;
		return copy_setting(ctx->network, sizeof(ctx->network), value, "network", err, errlen);
	case OPT_RPCCONNECT:
		ctx->given |= CLI_SET_RPCCONNECT;
		return copy_setting(ctx->rpcconnect, sizeof(ctx->rpcconnect), value, "rpcconnect",
				    err, errlen);
	case OPT_RPCPORT:
		ctx->given |= CLI_SET_RPCPORT;
		{
		uint64_t port;
		if (conf_parse_u64("rpcport", value, 1, 65535, &port, err, errlen) < 0)
			return CLI_EUSAGE;
		ctx->rpcport = (unsigned)port;
		return 0;
	}
	case OPT_RPCUSER:
		ctx->given |= CLI_SET_RPCUSER;
		return copy_setting(ctx->rpcuser, sizeof(ctx->rpcuser), value, "rpcuser", err, errlen);
	case OPT_RPCPASSWORD:
		ctx->given |= CLI_SET_RPCPASSWORD;
		return copy_setting(ctx->rpcpassword, sizeof(ctx->rpcpassword), value, "rpcpassword",
				    err, errlen);
	case OPT_JSON:
		ctx->json = 1;
		return 0;
	case OPT_HELP:
		ctx->help = 1;
		return 0;
	case OPT_PASSFILE:
		return copy_setting(ctx->passphrase_file, sizeof(ctx->passphrase_file), value,
				    "passphrase-file", err, errlen);
	case OPT_STDINRPCPASS:
		ctx->stdin_rpcpass = 1;
		return 0;
	case OPT_RPCCOOKIEFILE:
		return copy_setting(ctx->rpccookiefile, sizeof(ctx->rpccookiefile), value, "rpccookiefile",
				    err, errlen);
	}
	return usage_err(err, errlen, "internal: unknown option code %d", code);
}

static int getopt_error(int c, char **argv, char *err, size_t errlen)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (c == ':')
		return usage_err(err, errlen, "option '%s' needs a value", arg);
	return usage_err(err, errlen, "unknown option '%s' (see assay-cli help)", arg);
}

const struct cli_command *cli_find(const char *group, const char *sub)
{
	for (const struct cli_command *c = cli_commands; c->group; c++) {
		if (strcmp(c->group, group) != 0)
			continue;
		if (!c->sub || (sub && strcmp(c->sub, sub) == 0))
			return c;
	}
	return NULL;
}

static int group_known(const char *group)
{
	for (const struct cli_command *c = cli_commands; c->group; c++)
		if (strcmp(c->group, group) == 0)
			return 1;
	return 0;
}

/* Second pass over the words after the command: global and command options
 * anywhere, positionals collected in order. */
static int parse_command(struct cli_ctx *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct option opts[N_GLOBAL_OPTS + MAX_CMD_OPTDEFS + 1];
	size_t n = 0;
	memcpy(opts, global_opts, N_GLOBAL_OPTS * sizeof(global_opts[0]));
	n = N_GLOBAL_OPTS;
	for (const struct cli_optdef *d = ctx->cmd->opts; d && d->name; d++) {
		if (n - N_GLOBAL_OPTS == MAX_CMD_OPTDEFS)
			return usage_err(err, errlen, "internal: too many options for one command");
		opts[n] = (struct option){d->name, d->has_value ? required_argument : no_argument,
					  NULL, CLI_OPT_CMD + (int)(n - N_GLOBAL_OPTS)};
		n++;
	}
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	int c;
	while ((c = getopt_long_only(argc, argv, ":", opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return getopt_error(c, argv, err, errlen);
		if (c >= CLI_OPT_CMD) {
			const struct cli_optdef *d = &ctx->cmd->opts[c - CLI_OPT_CMD];
			if (ctx->nopts == CLI_MAX_OPTS)
				return usage_err(err, errlen, "too many options (at most %d)",
						 CLI_MAX_OPTS);
			ctx->opt_name[ctx->nopts] = d->name;
			ctx->opt_value[ctx->nopts] = d->has_value ? optarg : "";
			ctx->nopts++;
			continue;
		}
		int rc = apply_global(ctx, c, optarg, err, errlen);
		if (rc)
			return rc;
	}
	ctx->args = argv + optind;
	ctx->nargs = argc - optind;
	return 0;
}

int cli_parse(struct cli_ctx *ctx, int argc, char **argv, char *err, size_t errlen)
{
	memset(ctx, 0, sizeof(*ctx));
	err[0] = 0;
	optind = 0;
	opterr = 0;
	int c;
	/* "+": stop at the first word, which names the command or RPC method;
	 * what follows a raw RPC method is its parameters, never our options. */
	while ((c = getopt_long_only(argc, argv, "+:", global_opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return getopt_error(c, argv, err, errlen);
		int rc = apply_global(ctx, c, optarg, err, errlen);
		if (rc)
			return rc;
	}
	int first = optind;
	if (first >= argc) {
		ctx->args = argv + argc;
		if (!ctx->help)
			return usage_err(err, errlen, "no command given (see assay-cli help)");
		return 0;
	}
	const char *group = argv[first];
	if (strcmp(group, "help") == 0) {
		ctx->help = 1;
		ctx->args = argv + first + 1;
		ctx->nargs = argc - first - 1;
		return 0;
	}
	if (strcmp(group, "rpc") == 0 && first + 1 < argc) { /* rpc METHOD: raw, even "help" */
		ctx->args = argv + first + 1;
		ctx->nargs = argc - first - 1;
		return 0;
	}
	if (!group_known(group)) { /* raw RPC: METHOD PARAMS... */
		ctx->args = argv + first;
		ctx->nargs = argc - first;
		return 0;
	}
	const char *sub = first + 1 < argc ? argv[first + 1] : NULL;
	ctx->cmd = cli_find(group, sub);
	if (!ctx->cmd) {
		ctx->args = argv + first; /* so help can name the group */
		ctx->nargs = 1;
		if (ctx->help)
			return 0;
		return usage_err(err, errlen, "%s needs a subcommand%s%s (see assay-cli help %s)",
				 group, sub ? ", not " : "", sub ? sub : "", group);
	}
	int words = ctx->cmd->sub ? 2 : 1;
	/* getopt treats its argv[0] as the program name: hand it the last word. */
	int rc = parse_command(ctx, argc - (first + words - 1), argv + first + words - 1, err,
			       errlen);
	if (rc || ctx->help)
		return rc;
	if (ctx->nargs < ctx->cmd->min_args || ctx->nargs > ctx->cmd->max_args)
		return usage_err(err, errlen, "usage: assay-cli %s%s%s %s", ctx->cmd->group,
				 ctx->cmd->sub ? " " : "", ctx->cmd->sub ? ctx->cmd->sub : "",
				 ctx->cmd->usage);
	return 0;
}

enum network cli_local_net(const struct cli_ctx *ctx)
{
	const struct network_info *info = network_find(ctx->network);
	return info ? info->family : NET_DEV;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	size_t lead = strspn(s, " \t");
	memmove(s, s + lead, n - lead + 1);
}

/* One assay.conf line (core/conf.c reads the file, assayd's syntax): the
 * keys the CLI cares about fill settings that no flag gave; other keys
 * belong to assayd. */
struct conf_ctx {
	struct cli_ctx *ctx;
	unsigned from_flags; /* CLI_SET_* the command line gave */
};

static int conf_entry(void *arg, const char *name, const char *value, char *err, size_t errlen)
{
	struct conf_ctx *cc = arg;
	unsigned bit; /* a CLIENT_SET_* bit, the same as its CLI_SET_* (cli.h) */
	int code = client_opts_node_key(name, &bit);
	if (!code || (cc->from_flags & bit))
		return 0;
	return apply_global(cc->ctx, code, value, err, errlen);
}

static int read_conf(struct cli_ctx *ctx, char *err, size_t errlen)
{
	char path[CLI_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/assay.conf", ctx->datadir);
	struct conf_ctx cc = {ctx, ctx->given};
	int rc = conf_read_file(path, conf_entry, &cc, NULL, err, errlen) != 0 ? CLI_EUSAGE : 0;
	ctx->given = cc.from_flags; /* "given" means on the command line (cli.h) */
	return rc;
}

static void default_datadir(char *out, size_t cap)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : ".";
	}
	snprintf(out, cap, "%s/.assay", home);
}

/* The RPC password from where no other process can read it: the first line
 * of standard input (-stdinrpcpass), else CLIENT_RPCPASSWORD_ENV, else
 * nothing (-rpcpassword or assay.conf may give it). Either counts as given
 * on the command line, so assay.conf's rpcpassword does not replace it. */
static int take_rpcpassword(struct cli_ctx *ctx, char *err, size_t errlen)
{
	if (ctx->stdin_rpcpass) {
		char line[PASSPHRASE_MAX + 1];
		if (ctx->given & CLI_SET_RPCPASSWORD)
			return usage_err(err, errlen, "give -rpcpassword or -stdinrpcpass, not both");
		int rc = passphrase_read_line(STDIN_FILENO, line);
		if (rc == 0 && !line[0])
			rc = usage_err(err, errlen,
				       "-stdinrpcpass: no password on the first line of standard input");
		else if (rc)
			rc = usage_err(err, errlen,
				       "-stdinrpcpass: cannot read a line of at most %d bytes from "
				       "standard input",
				       PASSPHRASE_MAX);
		else
			rc = copy_setting(ctx->rpcpassword, sizeof(ctx->rpcpassword), line, "stdinrpcpass",
					  err, errlen);
		sodium_memzero(line, sizeof(line));
		if (!rc)
			ctx->given |= CLI_SET_RPCPASSWORD;
		return rc;
	}
	const char *env = getenv(CLIENT_RPCPASSWORD_ENV);
	if ((ctx->given & CLI_SET_RPCPASSWORD) || !env || !*env)
		return 0;
	ctx->given |= CLI_SET_RPCPASSWORD;
	return copy_setting(ctx->rpcpassword, sizeof(ctx->rpcpassword), env, CLIENT_RPCPASSWORD_ENV, err,
			    errlen);
}

/* The first line of a cookie file into auth (cap bytes): 0, or -1 when it
 * cannot be read (errno says why). */
static int read_cookie(const char *path, char *auth, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(auth, (int)cap, f))
		auth[0] = 0;
	trim(auth);
	fclose(f);
	return 0;
}

int cli_settle(struct cli_ctx *ctx, char *err, size_t errlen)
{
	if (!(ctx->given & CLI_SET_DATADIR))
		default_datadir(ctx->datadir, sizeof(ctx->datadir));
	int rc = take_rpcpassword(ctx, err, errlen);
	if (!rc)
		rc = read_conf(ctx, err, errlen);
	if (rc)
		return rc;
	if (!ctx->network[0])
		snprintf(ctx->network, sizeof(ctx->network), "dev");
	const struct network_info *net = network_find(ctx->network);
	if (!net)
		return usage_err(err, errlen, "unknown network '%s': use dev, local, testnet or main",
				 ctx->network);
	if (!ctx->rpcport)
		ctx->rpcport = net->rpc_port;
	if (!ctx->rpcconnect[0])
		snprintf(ctx->rpcconnect, sizeof(ctx->rpcconnect), "127.0.0.1");

	memset(&ctx->rpc, 0, sizeof(ctx->rpc));
	snprintf(ctx->rpc.host, sizeof(ctx->rpc.host), "%s", ctx->rpcconnect);
	ctx->rpc.port = ctx->rpcport;
	if (ctx->rpcuser[0] || ctx->rpcpassword[0]) {
		snprintf(ctx->rpc.auth, sizeof(ctx->rpc.auth), "%s:%s", ctx->rpcuser,
			 ctx->rpcpassword);
	} else if (ctx->rpccookiefile[0]) { /* named: sent wherever -rpcconnect points */
		if (read_cookie(ctx->rpccookiefile, ctx->rpc.auth, sizeof(ctx->rpc.auth)) != 0)
			return usage_err(err, errlen, "cannot read -rpccookiefile=%s: %s", ctx->rpccookiefile,
					 strerror(errno));
	} else if (rpc_client_host_is_loopback(ctx->rpcconnect)) {
		char path[CLI_PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/.cookie", ctx->datadir);
		read_cookie(path, ctx->rpc.auth, sizeof(ctx->rpc.auth)); /* absent: fine until a call */
	} else {
		/* the local node's cookie is its admin password: never handed to
		 * another host unless the user names the file */
		ctx->cookie_withheld = 1;
	}
	return 0;
}

const char *cli_opt(const struct cli_ctx *ctx, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < ctx->nopts; i++) /* the last one given wins */
		if (strcmp(ctx->opt_name[i], name) == 0)
			v = ctx->opt_value[i];
	return v;
}

int cli_flag(const struct cli_ctx *ctx, const char *name)
{
	return cli_opt(ctx, name) != NULL;
}

/* The length of the well-formed UTF-8 sequence of two to four bytes at p
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_multibyte_len(const unsigned char *p)
{
	size_t n;
	unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		lo = *p == 0xe0 ? 0xa0 : 0x80;
		hi = *p == 0xed ? 0x9f : 0xbf;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		lo = *p == 0xf0 ? 0x90 : 0x80;
		hi = *p == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

int cli_locale_is_utf8(const char *lc_all, const char *lc_ctype, const char *lang)
{
	/* the first set of the three decides, as for setlocale(LC_CTYPE, "") */
	const char *name = lc_all && *lc_all ? lc_all : lc_ctype && *lc_ctype ? lc_ctype : lang;
	/* none, or the C locale of scripts and services: their output goes to
	 * files and to terminals that are UTF-8 today; a locale that names
	 * another charset (ISO-8859-1, KOI8-R) is an 8-bit terminal's */
	if (!name || !*name || strcmp(name, "C") == 0 || strcmp(name, "POSIX") == 0)
		return 1;
	return strcasestr(name, "UTF-8") || strcasestr(name, "UTF8");
}

void cli_strip_controls_as(char *text, int utf8)
{
	char *out = text;
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		if (!utf8) { /* every byte alone: 0x80..0x9F are C1 wherever they stand */
			if (!((*p < 0x20 && *p != '\n' && *p != '\t') || (*p >= 0x7f && *p <= 0x9f)))
				*out++ = (char)*p;
			p++;
			continue;
		}
		size_t n = *p >= 0x80 ? utf8_multibyte_len(p) : 1;
		/* A terminal in an 8-bit mode reads a lone byte 0x80..0x9F as a
		 * C1 control (0x9B is CSI); in UTF-8, U+0080..U+009F are the
		 * same controls. Other bytes of broken UTF-8 are printable in
		 * either and are kept. */
		int control;
		if (n == 1) /* C0 but newline and tab, and DEL */
			control = (*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f;
		else if (n == 0) /* one byte outside well-formed UTF-8 */
			control = *p <= 0x9f, n = 1;
		else /* U+0080..U+009F */
			control = n == 2 && *p == 0xc2 && p[1] <= 0x9f;
		if (!control) {
			memmove(out, p, n);
			out += n;
		}
		p += n;
	}
	*out = 0;
}

void cli_strip_controls(char *text)
{
	static int utf8 = -1;
	if (utf8 < 0)
		utf8 = cli_locale_is_utf8(getenv("LC_ALL"), getenv("LC_CTYPE"), getenv("LANG"));
	cli_strip_controls_as(text, utf8);
}

/* "LABEL: message\n" on stderr, control characters stripped: messages carry
 * what a node said, and no terminal escape of its may pass. */
static void print_stripped(const char *label, const char *fmt, va_list ap)
{
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0) {
		fprintf(stderr, "%s: (out of memory for the message)\n", label);
		return;
	}
	cli_strip_controls(text);
	fprintf(stderr, "%s: %s\n", label, text);
	free(text);
}

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_stripped("error", fmt, ap);
	va_end(ap);
	return code;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_stripped("warning", fmt, ap);
	va_end(ap);
}

void cli_free_wiped(void *p)
{
	if (!p)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

/* Frees text made from a result, zeroed first: it may be a seed. */
static void free_text(char *text)
{
	if (text)
		sodium_memzero(text, strlen(text));
	free(text);
}

void cli_print_json(const json_t *j)
{
	if (json_is_string(j)) { /* printed as it is: what a node said, so no terminal escape of its */
		char *text = strdup(json_string_value(j));
		if (!text) {
			fputs("(out of memory for the result)\n", stderr);
			return;
		}
		cli_strip_controls(text);
		printf("%s\n", text);
		free_text(text);
		return;
	}
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (text)
		printf("%s\n", text);
	free_text(text);
}

void cli_emit(const struct cli_ctx *ctx, json_t *j, const char *fmt, ...)
{
	if (ctx->json) {
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free_text(text);
	} else { /* text made of what a node said: no terminal escape of its */
		va_list ap;
		char *text = NULL;
		va_start(ap, fmt);
		int n = vasprintf(&text, fmt, ap);
		va_end(ap);
		if (n < 0) {
			fputs("(out of memory for the result)\n", stderr);
		} else {
			cli_strip_controls(text);
			fputs(text, stdout);
			free_text(text);
		}
	}
	json_decref(j);
}

int cli_rpc(struct cli_ctx *ctx, const char *method, json_t *params, json_t **result)
{
	struct rpc_failure f;
	int rc = rpc_client_call(&ctx->rpc, method, params, result, &f);
	json_decref(params);
	switch (rc) {
	case 0:
		return CLI_OK;
	case ASSAY_EIO:
		return cli_fail(CLI_EUNREACHABLE,
				"cannot reach the node at %s:%u (%s); is assayd running? "
				"Start it, or point -rpcconnect/-rpcport/-network at it",
				ctx->rpc.host, ctx->rpc.port, f.message);
	case ASSAY_EINVALID:
		return cli_fail(CLI_EFAIL, "%s (code %lld)", f.message, f.code);
	case ASSAY_EAUTH:
		if (ctx->cookie_withheld)
			return cli_fail(CLI_EFAIL,
					"%s; %s/.cookie is sent only to a loopback -rpcconnect, not to %s: "
					"give -rpcuser with -stdinrpcpass (or %s), or name the cookie with "
					"-rpccookiefile=PATH",
					f.message, ctx->datadir, ctx->rpc.host, CLIENT_RPCPASSWORD_ENV);
		if (!ctx->rpc.auth[0])
			return cli_fail(CLI_EFAIL,
					"%s; no %s/.cookie was found (does assayd use this "
					"-datadir?)",
					f.message, ctx->datadir);
		return cli_fail(CLI_EFAIL, "%s", f.message);
	default:
		return cli_fail(CLI_EFAIL, "bad reply from %s:%u: %s", ctx->rpc.host, ctx->rpc.port,
				f.message);
	}
}

int cli_get_chain(struct cli_ctx *ctx, struct cli_chain *chain)
{
	json_t *info;
	struct client_chain c;
	char err[512];
	memset(chain, 0, sizeof(*chain));
	int rc = cli_rpc(ctx, "getchainparams", NULL, &info);
	if (rc)
		return rc;
	rc = client_chain_parse(info, &c, err, sizeof(err));
	json_decref(info);
	if (rc == 0)
		rc = client_chain_check(&c, ctx->network, err, sizeof(err));
	if (rc)
		return cli_fail(CLI_EFAIL, "%s", err);
	snprintf(chain->network, sizeof(chain->network), "%s", c.network->name);
	chain->net = c.network->family;
	memcpy(chain->chain_id, c.chain_id, HASH_LEN);
	chain->params = c.params;
	return CLI_OK;
}

int cli_amount_opt(const struct cli_ctx *ctx, const char *name, uint64_t dflt, uint64_t *units)
{
	const char *text = cli_opt(ctx, name);
	if (!text) {
		*units = dflt;
		return CLI_OK;
	}
	int rc = amount_parse(text, units);
	if (rc == ASSAY_EOVERFLOW)
		return cli_fail(CLI_EUSAGE, "bad amount for --%s: '%s' is too large", name, text);
	if (rc)
		return cli_fail(CLI_EUSAGE,
				"bad amount for --%s: '%s' (use ASY with at most 9 decimals, "
				"like 1.5)",
				name, text);
	return CLI_OK;
}

int cli_seconds_opt(const struct cli_ctx *ctx, const char *name, unsigned dflt, unsigned *out)
{
	const char *text = cli_opt(ctx, name);
	*out = dflt;
	if (!text)
		return CLI_OK;
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > 86400)
		return cli_fail(CLI_EUSAGE, "bad --%s '%s': whole seconds, at most 86400", name, text);
	*out = (unsigned)v;
	return CLI_OK;
}

static int looks_like_address(const char *text)
{
	const struct network_info *net;
	for (unsigned i = 0; (net = network_at(i)); i++) {
		size_t n = strlen(net->hrp);
		if (strncasecmp(text, net->hrp, n) == 0 && text[n] == '1')
			return 1;
	}
	return 0;
}

int cli_resolve_address(struct cli_ctx *ctx, const char *text, const struct cli_chain *chain,
			int allow_wallet, char out[ADDR_STR_MAX], uint8_t addr[ADDR_LEN])
{
	enum network net;
	if (address_decode(text, &net, addr) == 0) {
		if (net != chain->net)
			return cli_fail(CLI_EUSAGE,
					"address %s is for another network: the node runs %s, whose "
					"addresses start with %s1",
					text, chain->network, network_hrp(chain->net));
		address_encode(net, addr, out);
		return CLI_OK;
	}
	if (!allow_wallet || looks_like_address(text) || !keystore_name_valid(text))
		return cli_fail(CLI_EUSAGE, "bad address '%s' (expected bech32m starting with %s1)",
				text, network_hrp(chain->net));
	struct keystore_info info;
	char err[512];
	int rc = keystore_read_info(ctx->datadir, text, &info, err, sizeof(err));
	if (rc == ASSAY_ENOTFOUND)
		return cli_fail(CLI_EFAIL, "'%s' is neither an address nor a wallet in %s/wallet",
				text, ctx->datadir);
	if (rc)
		return cli_fail(CLI_EFAIL, "%s", err);
	address_from_pubkey(info.pubkey, addr);
	address_encode(chain->net, addr, out);
	return CLI_OK;
}

int cli_unlock(struct cli_ctx *ctx, const char *name, struct keystore_key *key)
{
	char err[512], prompt[128], pass[PASSPHRASE_MAX + 1];
	struct keystore_info info;
	int rc = keystore_read_info(ctx->datadir, name, &info, err, sizeof(err));
	if (rc)
		return cli_fail(rc == ASSAY_EARG ? CLI_EUSAGE : CLI_EFAIL, "%s", err);
	snprintf(prompt, sizeof(prompt), "Passphrase for wallet '%s': ", name);
	rc = passphrase_get(ctx->passphrase_file, prompt, 0, pass, err, sizeof(err));
	if (rc == 0)
		rc = keystore_load(ctx->datadir, name, pass, key, err, sizeof(err));
	sodium_memzero(pass, sizeof(pass));
	return rc ? cli_fail(CLI_EFAIL, "%s", err) : CLI_OK;
}

int cli_submit(struct cli_ctx *ctx, const struct cli_chain *chain,
	       const struct keystore_key *key, const struct cli_txreq *req, char txid[65])
{
	uint8_t addr[ADDR_LEN], id[HASH_LEN];
	char address[ADDR_STR_MAX];
	json_t *account, *sent;
	address_from_pubkey(key->info.pubkey, addr);
	address_encode(chain->net, addr, address);
	int rc = cli_rpc(ctx, "getaccount", json_pack("[s]", address), &account);
	if (rc)
		return rc;
	json_t *pending = json_object_get(account, "pending_nonce");
	if (!json_is_integer(pending) || json_integer_value(pending) < 0) {
		json_decref(account);
		return cli_fail(CLI_EFAIL, "getaccount reply lacks pending_nonce");
	}
	uint64_t nonce = (uint64_t)json_integer_value(pending);
	const char *nonce_text = cli_opt(ctx, "nonce");
	if (nonce_text) {
		char *end;
		errno = 0;
		nonce = strtoull(nonce_text, &end, 10);
		if (!*nonce_text || *end || *nonce_text == '-' || errno) {
			json_decref(account);
			return cli_fail(CLI_EUSAGE, "bad --nonce '%s': a whole number", nonce_text);
		}
	}
	/* after this command's own last transaction, which the node may not
	 * have counted yet (--raw: it was never sent) */
	if (ctx->signed_any && memcmp(ctx->signed_addr, addr, ADDR_LEN) == 0 && ctx->next_nonce > nonce)
		nonce = ctx->next_nonce;
	struct txbuild_spec spec = {
		.nonce = nonce,
		.fee = req->fee,
		.gas_limit = req->gas_limit,
		.kind = req->kind,
		.payload = req->payload,
		.payload_len = req->payload_len,
	};
	json_decref(account);
	memcpy(spec.chain_id, chain->chain_id, HASH_LEN);
	struct buf enc;
	buf_init(&enc);
	if (txbuild_sign(&spec, key->seckey, &enc, id) != 0) {
		buf_free(&enc);
		return cli_fail(CLI_EFAIL, "cannot build the transaction (out of memory?)");
	}
	ctx->signed_any = 1;
	memcpy(ctx->signed_addr, addr, ADDR_LEN);
	ctx->next_nonce = nonce + 1;
	char *hex = malloc(2 * enc.len + 1);
	if (!hex) {
		buf_free(&enc);
		return cli_fail(CLI_EFAIL, "out of memory");
	}
	hex_encode(enc.data, enc.len, hex);
	buf_free(&enc);
	if (cli_flag(ctx, "raw")) {
		/* Offline signing: the caller submits it later (sendrawtransaction). */
		hex_encode(id, HASH_LEN, txid);
		cli_emit(ctx, json_pack("{s:s,s:s}", "txid", txid, "hex", hex), "%s\n", hex);
		free(hex);
		return CLI_OK;
	}
	if (req->preflight) {
		char why[CLI_PREFLIGHT_MSG_MAX];
		if ((rc = cli_preflight_hex(ctx, hex, cli_flag(ctx, "force"), why, sizeof(why))) != 0) {
			free(hex);
			return cli_fail(rc == ASSAY_EIO ? CLI_EUNREACHABLE : CLI_EFAIL, "%s%s", why,
					rc == ASSAY_ENOMEM ? ""
							   : "; nothing was sent and no fee was charged "
							     "(--force sends it anyway)");
		}
	}
	rc = cli_rpc(ctx, "sendrawtransaction", json_pack("[s]", hex), &sent);
	free(hex);
	if (rc)
		return rc;
	hex_encode(id, HASH_LEN, txid);
	if (!json_is_string(sent) || strcmp(json_string_value(sent), txid) != 0)
		cli_warn("the node reported txid %s, computed %s", json_is_string(sent) ? json_string_value(sent) : "(none)",
			 txid);
	json_decref(sent);
	return CLI_OK;
}

int cli_fee_opt(const struct cli_ctx *ctx, const struct cli_chain *chain, uint64_t gas,
		enum cli_fee_default dflt, uint64_t *fee)
{
	uint64_t floor, offer;
	if (chain_min_fee(&chain->params, gas, &floor))
		return cli_fail(CLI_EUSAGE, "gas %llu is too large to pay for", (unsigned long long)gas);
	if (cli_opt(ctx, "fee")) {
		int rc = cli_amount_opt(ctx, "fee", 0, fee);
		if (rc || !gas || *fee >= floor)
			return rc;
		/* never raised: what the user named is what is signed */
		char have_asy[AMOUNT_STR_MAX], need_asy[AMOUNT_STR_MAX];
		amount_format(*fee, have_asy);
		amount_format(floor, need_asy);
		return cli_fail(CLI_EUSAGE, "--fee %s ASY is below min_fee + gas x gas_price = %s ASY for gas %llu",
				have_asy, need_asy, (unsigned long long)gas);
	}
	int frc = txbuild_default_fee(&chain->params, gas, &offer);
	if (frc && frc != ASSAY_ELIMIT)
		return cli_fail(CLI_EUSAGE, "gas %llu is too large to pay for", (unsigned long long)gas);
	*fee = dflt == CLI_FEE_FLOOR ? floor : offer;
	if (*fee > TXBUILD_MAX_DEFAULT_FEE) {
		char asks[AMOUNT_STR_MAX], most[AMOUNT_STR_MAX];
		amount_format(*fee, asks);
		amount_format(TXBUILD_MAX_DEFAULT_FEE, most);
		return cli_fail(CLI_EFAIL,
				"the node's fee rule asks %s ASY for this transaction, more than the %s ASY paid "
				"unasked: check the node, or name the fee with --fee",
				asks, most);
	}
	return CLI_OK;
}

int cli_send_from(struct cli_ctx *ctx, const struct cli_chain *chain, const char *from, cli_key_loader load,
		  uint8_t kind, const struct buf *payload, uint64_t gas, int wait, char txid[2 * HASH_LEN + 1],
		  json_t **committed)
{
	uint64_t fee;
	unsigned timeout_s;
	struct keystore_key key;
	int rc;
	*committed = NULL;
	if ((rc = cli_fee_opt(ctx, chain, gas, CLI_FEE_OFFER, &fee)) ||
	    (rc = cli_seconds_opt(ctx, "timeout", CLI_DEFAULT_WAIT_S, &timeout_s)))
		return rc;
	if (payload->oom)
		return cli_fail(CLI_EFAIL, "out of memory");
	if ((rc = load(ctx, from, &key)))
		return rc;
	struct cli_txreq req = {kind, payload->data, payload->len, fee, gas, 1}; /* dry-run first */
	rc = cli_submit(ctx, chain, &key, &req, txid);
	keystore_key_wipe(&key);
	if (rc || cli_flag(ctx, "raw") || !wait)
		return rc;
	if ((rc = cli_wait_tx(ctx, txid, timeout_s, committed)))
		return rc;
	json_t *result = json_object_get(*committed, "result");
	if (json_is_false(json_object_get(result, "ok"))) {
		const char *err = json_string_value(json_object_get(result, "error"));
		char why[CLI_PREFLIGHT_MSG_MAX];
		cli_preflight_asy_text(err ? err : "unknown error", why, sizeof(why));
		return cli_fail(CLI_EFAIL, "%s %s failed at height %lld: %s", tx_kind_name(kind), txid,
				json_integer_value(json_object_get(*committed, "height")), why);
	}
	return CLI_OK;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cli_wait_block(struct cli_ctx *ctx, json_int_t *height, uint64_t max_ms)
{
	struct rpc_failure f;
	long long got;
	uint64_t client_ms = ctx->rpc.timeout_ms > 0 ? (uint64_t)ctx->rpc.timeout_ms : RPC_CLIENT_TIMEOUT_MS;
	uint64_t ms = max_ms < CLI_WAIT_BLOCK_MS ? max_ms : CLI_WAIT_BLOCK_MS;
	if (ms > client_ms / 2)
		ms = client_ms / 2; /* the reply must come before the client gives up */
	if (rpc_client_wait_block(&ctx->rpc, ms, *height, &got, &f) == 0) {
		*height = (json_int_t)got;
	} else {
		struct timespec nap = {.tv_sec = 0, .tv_nsec = CLI_POLL_MS * 1000000L};
		nanosleep(&nap, NULL);
	}
}

int cli_wait_tx(struct cli_ctx *ctx, const char *txid, unsigned timeout_s, json_t **tx)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	json_int_t height = -1; /* the tip last seen; -1: not yet */
	json_t *count = NULL;
	*tx = NULL;
	/* The tip before the first look, so a block in between is not missed. */
	if (rpc_client_call(&ctx->rpc, "getblockcount", NULL, &count, &(struct rpc_failure){0}) == 0 &&
	    json_is_integer(count))
		height = json_integer_value(count);
	json_decref(count);
	for (;;) {
		json_t *rec;
		int rc = cli_rpc(ctx, "gettransaction", json_pack("[s]", txid), &rec);
		if (rc)
			return rc;
		const char *status = json_string_value(json_object_get(rec, "status"));
		if (status && strcmp(status, "committed") == 0) {
			*tx = rec;
			return CLI_OK;
		}
		json_decref(rec);
		uint64_t now = now_ms();
		if (now >= deadline)
			return cli_fail(CLI_ETIMEOUT, "transaction %s not committed after %u s", txid,
					timeout_s);
		cli_wait_block(ctx, &height, deadline - now);
	}
}

int cli_u32_opt(const struct cli_ctx *ctx, const char *name, uint32_t dflt, uint32_t least, uint32_t *out)
{
	const char *v = cli_opt(ctx, name);
	char *end;
	if (!v) {
		*out = dflt;
		return CLI_OK;
	}
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (!*v || *end || *v == '-' || *v == '+' || errno || x > UINT32_MAX || x < least)
		return cli_fail(CLI_EUSAGE, "bad --%s '%s': a whole number from %u", name, v, least);
	*out = (uint32_t)x;
	return CLI_OK;
}
