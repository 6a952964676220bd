/* Unit tests for node/config.c: -name=value and --name=value, yes/no
 * options and -noname, repeatable options, assay.conf with the command line
 * winning, network-dependent defaults, and clear errors. */
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "node/config.h"
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

static void test_file(void)
{
	struct config c;
	char err[256], path[64] = "/tmp/assay-conf-";
	memset(path + strlen(path), 'X', 6); /* mkstemp's placeholder */
	int fd = mkstemp(path);
	const char *text = "# comment\nrpcport = 5555\nblocktime=250 # trailing\n\nnolisten=1\n";
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
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
}

int main(void)
{
	RUN(test_flags);
	RUN(test_file);
	return test_report("test_config");
}
