/* Node configuration: command-line flags (-name=value or --name=value,
 * -name for yes, -noname for no) and DATADIR/assay.conf (read by core/conf.c),
 * flags winning over the file. Names, ranges and help text live in one table
 * that also prints assayd -help; every numeric value is range-checked while
 * parsing, before anything starts. Not for: chain parameters (genesis). */
#ifndef ASSAY_NODE_CONFIG_H
#define ASSAY_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_MULTI 32 /* values of a repeatable option (addnode, connect) */
/* Default -minfreespace: the node refuses to start, and stops before a
 * block, when the datadir's filesystem has less free space than this. */
#define CONFIG_DEFAULT_MINFREESPACE_MB 100

struct config {
	char datadir[512];
	char network[16];     /* dev, local, testnet */
	char genesis[1024];   /* genesis file (local/testnet) */
	char rpcbind[64];
	int rpcport;
	char rpcuser[128];
	char rpcpassword[128];
	char rpcallowip[CONFIG_MAX_MULTI][64]; /* allowed besides 127.0.0.1, ::1 (rpc_allow_parse) */
	int nrpcallowip;
	int rpcmaxconnections; /* most RPC connections at once */
	int port;             /* p2p */
	int listen;
	char bind[64];        /* p2p listen address */
	char addnode[CONFIG_MAX_MULTI][128];
	int naddnode;
	char connect[CONFIG_MAX_MULTI][128];
	int nconnect;
	char seednode[CONFIG_MAX_MULTI][128]; /* HOST:PORT seeds, besides the compiled network's */
	int nseednode;
	int maxconnections;
	uint64_t blocktime;   /* ms; 0: the chain's block_time_ms */
	int reindex;
	int addrindex;        /* keep the address index (listtransactions); default off */
	char validator[1024]; /* key file; "0" (-validator=0): as -novalidator; "" default */
	int novalidator;
	int testdoublesign;   /* tests only: equivocate every round (node/consensus.c refuses it outside dev/local tests) */
	int verifythreads;    /* 0: number of CPUs */
	uint64_t minfreespace; /* MB free under datadir below which the node stops; 0: no floor */
	unsigned debug;       /* LOG_CAT_* debug categories (-debug=net,rpc; 1 or all) */
	char loglevel[16];    /* debug, info, warn, error */
	int printtoconsole;
	int help;
	int version;
};

void config_defaults(struct config *c);
/* Whether option name (without its dash) was given on the command line
 * by the last config_parse_args. */
int config_from_args(const char *name);
/* Parses argv (argv[0] skipped). 0 ok, else a message in err. */
int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen);
/* Reads DATADIR/assay.conf if present, without overriding options that the
 * command line set. */
int config_read_file(struct config *c, const char *path, char *err, size_t errlen);
/* Fills network-dependent defaults (ports) left unset. */
void config_finish(struct config *c);
void config_print_help(const char *prog);
struct rpc_allow;
/* Parses the -rpcallowip entries into out (room for CONFIG_MAX_MULTI) and
 * checks them against -rpcbind: an RPC bound beyond loopback with no
 * -rpcallowip is refused, since no one beyond this machine could use it
 * and a bind that silently serves nobody is a mistake to report, not to
 * guess around (docs/rpc.md "Who may connect"). The number of entries, or
 * ASSAY_EARG with a message in err. */
int config_rpc_allow(const struct config *c, struct rpc_allow *out, char *err, size_t errlen);
/* Checks the option table itself (each numeric option has a range with
 * min <= max): 0, or ASSAY_EARG naming the row. For tests. */
int config_table_check(char *err, size_t errlen);

#endif
