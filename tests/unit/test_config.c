/* Unit tests for node/config.c and the shared assay.conf reader
 * (core/conf.c): -name=value and --name=value, yes/no options and -noname,
 * repeatable options, ranges of every numeric option, -debug categories,
 * assay.conf with the command line winning, comments only at line start, a
 * '#' in a value refused, unknown keys refused, and clear errors. */
#include <stdlib.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/error.h"
#include "core/log.h"
#include "node/config.h"
#include "node/rpc.h"
#include "test.h"

static int parse(struct config *c, const char *a, const char *b, const char *d, char *err)
{
	char *argv[5] = {"assayd", (char *)a, (char *)b, (char *)d, NULL};
	int argc = 1 + (a != NULL) + (b != NULL) + (d != NULL);
	config_defaults(c);
	return config_parse_args(c, argc, argv, err, 256);
}

static void test_flags(void)
{
	struct config c;
	char err[256];
	CHECK(parse(&c, "-datadir=/x", "--rpcport=1234", "-reindex", err) == 0);
	CHECK(strcmp(c.datadir, "/x") == 0 && c.rpcport == 1234 && c.reindex == 1);
	CHECK(parse(&c, "-nolisten", "-addnode=a:1", "--addnode=b:2", err) == 0);
	CHECK(c.listen == 0 && c.naddnode == 2 && strcmp(c.addnode[1], "b:2") == 0);
	CHECK(parse(&c, "-novalidator", NULL, NULL, err) == 0);
	CHECK(c.novalidator == 1);
	CHECK(parse(&c, "-bogus=1", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strstr(err, "unknown option") != NULL);
	CHECK(parse(&c, "-rpcport=abc", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-blocktime=-5", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "plain", NULL, NULL, err) == ASSAY_EARG);
	/* -minfreespace: 100 MB unless set; 0 turns the floor off. */
	CHECK(parse(&c, NULL, NULL, NULL, err) == 0);
	CHECK(c.minfreespace == CONFIG_DEFAULT_MINFREESPACE_MB && c.minfreespace == 100);
	CHECK(parse(&c, "-minfreespace=0", NULL, NULL, err) == 0 && c.minfreespace == 0);
	CHECK(parse(&c, "-minfreespace=5000000", NULL, NULL, err) == 0 && c.minfreespace == 5000000);
	CHECK(parse(&c, "-minfreespace=-1", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-minfreespace=lots", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-network=testnet", NULL, NULL, err) == 0);
	config_finish(&c);
	CHECK(c.rpcport == 19443 && c.port == 19444);
	CHECK(parse(&c, NULL, NULL, NULL, err) == 0);
	config_finish(&c);
	CHECK(c.rpcport == 29443 && strcmp(c.network, "dev") == 0 && strcmp(c.rpcbind, "127.0.0.1") == 0);
}

/* Writes text to a fresh temporary file; its name goes to path. */
static void write_conf(char path[64], const char *text)
{
	snprintf(path, 64, "/tmp/assay-conf-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* Parses text as assay.conf after no flags: the rc, the config in *c. */
static int read_text(struct config *c, const char *text, char *err)
{
	char path[64];
	write_conf(path, text);
	config_defaults(c);
	err[0] = 0;
	int rc = config_read_file(c, path, err, 256);
	unlink(path);
	return rc;
}

/* -noNAME clears a yes/no option (and -debug) and nothing else: it made a
 * text option "0", so -norpcbind bound RPC to 0.0.0.0 (INADDR_ANY) and
 * -norpcpassword set the password "0". */
static void test_negation(void)
{
	struct config c;
	char err[256];
	CHECK(parse(&c, "-norpcbind", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strcmp(c.rpcbind, "127.0.0.1") == 0);
	CHECK(strstr(err, "-norpcbind: -rpcbind is not a yes/no option") != NULL);
	CHECK(parse(&c, "-norpcpassword", NULL, NULL, err) == ASSAY_EARG);
	CHECK(c.rpcpassword[0] == 0);
	CHECK(parse(&c, "-nodatadir", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-norpcbind=1", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-nogenesis", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-norpcport", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-noaddnode", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-novalidatorx", NULL, NULL, err) == ASSAY_EARG);
	/* yes/no options and -debug keep -noNAME */
	CHECK(parse(&c, "-nolisten", "-noprinttoconsole", "-nodebug", err) == 0);
	CHECK(c.listen == 0 && c.printtoconsole == 0 && c.debug == 0);
	CHECK(parse(&c, "-noreindex=0", NULL, NULL, err) == 0 && c.reindex == 1);
	/* -novalidator is an option of its own; -validator=0 means the same */
	CHECK(parse(&c, "-novalidator", NULL, NULL, err) == 0 && c.novalidator == 1);
	CHECK(parse(&c, "-validator=0", NULL, NULL, err) == 0);
	config_finish(&c);
	CHECK(c.novalidator == 1);
	/* the file takes the same rule */
	CHECK(read_text(&c, "norpcbind=1\n", err) == ASSAY_EARG);
	CHECK(strcmp(c.rpcbind, "127.0.0.1") == 0 && strstr(err, "not a yes/no option") != NULL);
	CHECK(read_text(&c, "nolisten=1\n", err) == 0 && c.listen == 0);
}

/* An empty text value is refused: -datadir= made assayd read past the end
 * of the path; -rpcbind= or -validator= fell back to a default. */
static void test_empty_values(void)
{
	struct config c;
	char err[256];
	CHECK(parse(&c, "-datadir=", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strstr(err, "-datadir is empty") != NULL && c.datadir[0] != 0);
	CHECK(parse(&c, "-rpcbind=", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strcmp(c.rpcbind, "127.0.0.1") == 0);
	CHECK(parse(&c, "-validator=", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-addnode=", NULL, NULL, err) == ASSAY_EARG && c.naddnode == 0);
	CHECK(parse(&c, "-rpcport=", NULL, NULL, err) == ASSAY_EARG);
	CHECK(read_text(&c, "rpcbind=\n", err) == ASSAY_EARG);
	CHECK(strstr(err, "-rpcbind is empty") != NULL && strcmp(c.rpcbind, "127.0.0.1") == 0);
	CHECK(read_text(&c, "network=\n", err) == ASSAY_EARG);
	CHECK(read_text(&c, "rpcpassword=\n", err) == ASSAY_EARG);
	/* a value is still a value */
	CHECK(parse(&c, "-datadir=/x", "-rpcbind=::1", NULL, err) == 0 && strcmp(c.rpcbind, "::1") == 0);
}

static void test_ranges(void)
{
	struct config c;
	char err[256];
	CHECK(config_table_check(err, sizeof(err)) == 0);
	/* -rpcport=99999 was taken modulo 65536 (bound on 34463) */
	CHECK(parse(&c, "-rpcport=99999", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strstr(err, "-rpcport=99999 is out of range: use 1 to 65535") != NULL);
	CHECK(parse(&c, "-rpcport=65535", "-port=1", NULL, err) == 0 && c.rpcport == 65535 && c.port == 1);
	CHECK(parse(&c, "-port=0", NULL, NULL, err) == ASSAY_EARG && strstr(err, "-port=0") != NULL);
	CHECK(parse(&c, "-port=65536", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-port=+5", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-port= 5", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-maxconnections=0", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-maxconnections=2000", NULL, NULL, err) == 0 && c.maxconnections == 2000);
	CHECK(parse(&c, "-rpcmaxconnections=0", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-verifythreads=100000", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-blocktime=3600001", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-blocktime=18446744073709551616", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strstr(err, "is not a number") != NULL);
	/* the file's numbers go through the same check, with the line named */
	CHECK(read_text(&c, "port=70000\n", err) == ASSAY_EARG);
	CHECK(strstr(err, ":1: -port=70000 is out of range") != NULL);
	/* the shared helpers */
	uint64_t v;
	int iv;
	CHECK(conf_parse_u64("x", "0", 0, 10, &v, err, sizeof(err)) == 0 && v == 0);
	CHECK(conf_parse_u64("x", "11", 0, 10, &v, err, sizeof(err)) == ASSAY_EARG);
	CHECK(conf_parse_u64("x", "-1", 0, 10, &v, err, sizeof(err)) == ASSAY_EARG);
	CHECK(conf_parse_u64("x", "", 0, 10, &v, err, sizeof(err)) == ASSAY_EARG);
	CHECK(conf_parse_u64("x", "5x", 0, 10, &v, err, sizeof(err)) == ASSAY_EARG);
	CHECK(conf_parse_int("x", "7", 1, 9, &iv, err, sizeof(err)) == 0 && iv == 7);
}

static void test_debug_categories(void)
{
	struct config c;
	char err[256];
	CHECK(parse(&c, NULL, NULL, NULL, err) == 0 && c.debug == 0 && strcmp(c.loglevel, "info") == 0);
	CHECK(parse(&c, "-debug=net,rpc", NULL, NULL, err) == 0);
	CHECK(c.debug == (LOG_CAT_NET | LOG_CAT_RPC));
	CHECK(parse(&c, "-debug=consensus", "-debug=compute", NULL, err) == 0);
	CHECK(c.debug == (LOG_CAT_CONSENSUS | LOG_CAT_COMPUTE));
	CHECK(parse(&c, "-debug", NULL, NULL, err) == 0 && c.debug == LOG_CAT_ALL);
	CHECK(parse(&c, "-debug=1", NULL, NULL, err) == 0 && c.debug == LOG_CAT_ALL);
	CHECK(parse(&c, "-debug=all", "-nodebug", NULL, err) == 0 && c.debug == 0);
	CHECK(parse(&c, "-debug=net,bogus", NULL, NULL, err) == ASSAY_EARG);
	CHECK(strstr(err, "unknown category \"bogus\"") != NULL);
	CHECK(parse(&c, "-debug=net,", NULL, NULL, err) == ASSAY_EARG);
	CHECK(parse(&c, "-loglevel=warn", NULL, NULL, err) == 0 && strcmp(c.loglevel, "warn") == 0);
	CHECK(read_text(&c, "debug=mempool\n", err) == 0 && c.debug == LOG_CAT_MEMPOOL);
	enum log_level lvl;
	CHECK(log_parse_level("error", &lvl) == 0 && lvl == LOG_ERROR);
	CHECK(log_parse_level("loud", &lvl) == ASSAY_EARG);
}

static void test_file_syntax(void)
{
	struct config c;
	char err[256];
	/* comments at line start, indented or not; blank lines; blanks around = */
	CHECK(read_text(&c, "# a comment\n   # indented comment\n\n  rpcport =  5555  \r\n", err) == 0);
	CHECK(c.rpcport == 5555);
	/* a '#' inside a value was cut off: rpcpassword=abc#def became abc */
	CHECK(read_text(&c, "rpcuser=u\nrpcpassword=abc#def\n", err) == ASSAY_EARG);
	CHECK(strstr(err, ":2: '#' in the value of rpcpassword") != NULL);
	CHECK(strcmp(c.rpcpassword, "abc") != 0);
	/* a trailing comment is a '#' in the value too */
	CHECK(read_text(&c, "blocktime=250 # trailing\n", err) == ASSAY_EARG);
	CHECK(strstr(err, ":1: '#'") != NULL);
	/* unknown keys, keys only the command line takes, and lines without = */
	CHECK(read_text(&c, "rpcport=1\nfrobnicate=1\n", err) == ASSAY_EARG);
	CHECK(strstr(err, ":2: unknown option \"frobnicate\"") != NULL);
	CHECK(read_text(&c, "datadir=/elsewhere\n", err) == ASSAY_EARG);
	CHECK(read_text(&c, "=5\n", err) == ASSAY_EARG);
	/* the reader passes an empty value on; assayd has no text option
	 * where one means anything (an empty password least of all) */
	CHECK(read_text(&c, "rpcpassword=\n", err) == ASSAY_EARG && strstr(err, ":1: -rpcpassword is empty") != NULL);
	/* an over-long line is refused rather than split into two */
	char longline[CONF_LINE_MAX + 64];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "rpcuser=", 8);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	CHECK(read_text(&c, longline, err) == ASSAY_EARG && strstr(err, "longer than") != NULL);
	/* a value may hold '=' */
	CHECK(read_text(&c, "rpcpassword=a=b\n", err) == 0 && strcmp(c.rpcpassword, "a=b") == 0);
}

static void test_file(void)
{
	struct config c;
	char err[256], path[64];
	write_conf(path, "# comment\nrpcport = 5555\nblocktime=250\n\nnolisten=1\n");
	CHECK(parse(&c, "-rpcport=7777", NULL, NULL, err) == 0);
	CHECK(config_read_file(&c, path, err, sizeof(err)) == 0);
	CHECK(c.rpcport == 7777);   /* the command line wins */
	CHECK(c.blocktime == 250);
	CHECK(c.listen == 0);
	FILE *f = fopen(path, "w");
	fputs("rpcport\n", f);
	fclose(f);
	CHECK(parse(&c, NULL, NULL, NULL, err) == 0);
	CHECK(config_read_file(&c, path, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, ":1:") != NULL);
	unlink(path);
	CHECK(config_read_file(&c, "/nonexistent/assay.conf", err, sizeof(err)) == 0);
	/* what came from the command line, not the file (assayd warns for
	 * -rpcpassword there: ps shows it) */
	write_conf(path, "rpcpassword=fromfile\n");
	CHECK(parse(&c, "-rpcport=7777", NULL, NULL, err) == 0);
	CHECK(config_read_file(&c, path, err, sizeof(err)) == 0);
	CHECK(config_from_args("rpcport") && !config_from_args("rpcpassword"));
	CHECK(strcmp(c.rpcpassword, "fromfile") == 0);
	CHECK(parse(&c, "-rpcpassword=x", NULL, NULL, err) == 0 && config_from_args("rpcpassword"));
	CHECK(!config_from_args("nosuchoption"));
	unlink(path);
}

/* -rpcallowip is repeatable and checked before start; -rpcbind beyond
 * loopback without one is refused. */
static void test_rpc_allow(void)
{
	struct config c;
	struct rpc_allow allow[CONFIG_MAX_MULTI];
	char err[256];
	CHECK(parse(&c, "-rpcallowip=192.0.2.0/24", "-rpcallowip=2001:db8::/32", NULL, err) == 0);
	CHECK_EQ_INT(c.nrpcallowip, 2);
	CHECK_EQ_INT(config_rpc_allow(&c, allow, err, sizeof(err)), 2);
	CHECK(rpc_allow_permits(allow, 2, "192.0.2.9") && rpc_allow_permits(allow, 2, "2001:db8::9"));
	CHECK(parse(&c, "-rpcallowip=192.0.2.0/33", NULL, NULL, err) == 0); /* parsed at the check */
	CHECK(config_rpc_allow(&c, allow, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "invalid -rpcallowip=192.0.2.0/33") != NULL);
	CHECK(parse(&c, "-rpcbind=0.0.0.0", NULL, NULL, err) == 0);
	CHECK(config_rpc_allow(&c, allow, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "-rpcbind=0.0.0.0 reaches beyond this machine") != NULL);
	CHECK(parse(&c, "-rpcbind=0.0.0.0", "-rpcallowip=10.0.0.0/8", NULL, err) == 0);
	CHECK_EQ_INT(config_rpc_allow(&c, allow, err, sizeof(err)), 1);
	CHECK(parse(&c, "-rpcbind=::1", NULL, NULL, err) == 0);
	CHECK_EQ_INT(config_rpc_allow(&c, allow, err, sizeof(err)), 0);
	CHECK(parse(&c, "-rpcallowip=", NULL, NULL, err) == ASSAY_EARG);
}

int main(void)
{
	RUN(test_flags);
	RUN(test_negation);
	RUN(test_empty_values);
	RUN(test_file);
	RUN(test_file_syntax);
	RUN(test_ranges);
	RUN(test_debug_categories);
	RUN(test_rpc_allow);
	return test_report("test_config");
}
