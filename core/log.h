/* Logging to stderr and an optional file (debug.log), with levels, debug
 * categories (-debug=net,rpc,...) and a timestamp; the file can be reopened
 * in place for logrotate (SIGHUP). Not for consensus code: that code returns
 * errors, the node logs. */
#ifndef ASSAY_CORE_LOG_H
#define ASSAY_CORE_LOG_H

#include <stdint.h>

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Debug categories: a log_debugc line of a category is written when the
 * category is on (-debug=NAME), whatever the level. */
enum log_category {
	LOG_CAT_NET = 1u << 0,       /* p2p connections, sync, gossip */
	LOG_CAT_MEMPOOL = 1u << 1,   /* transaction admission */
	LOG_CAT_RPC = 1u << 2,       /* each JSON-RPC call */
	LOG_CAT_CONSENSUS = 1u << 3, /* BFT rounds, proposals, votes */
	LOG_CAT_COMPUTE = 1u << 4,   /* compute jobs (node and worker) */
	LOG_CAT_ALL = (1u << 5) - 1,
};
/* "net, mempool, rpc, consensus, compute", for help texts. */
const char *log_category_list(void);
/* Adds the categories of text ("net,rpc"; "1" or "all": all; "0" or
 * "none": clears) to *mask. 0, or ASSAY_EARG with the unknown name in err. */
int log_parse_categories(const char *text, unsigned *mask, char *err, size_t errlen);
void log_set_categories(unsigned mask);
int log_category_on(unsigned cat);

void log_set_level(enum log_level lvl);
/* Parses debug|info|warn|error. 0, or ASSAY_EARG. */
int log_parse_level(const char *text, enum log_level *lvl);
/* Opens path for append and logs there too; 0 ok, ASSAY_EIO. */
int log_open_file(const char *path);
/* Closes and opens again the file log_open_file opened, by its path: after
 * logrotate renamed it, lines go to a new file of that name. 0 (also when
 * no file is open), or ASSAY_EIO (the old file is kept). Not async-signal-
 * safe: call it from the event loop, not from a signal handler. */
int log_reopen(void);
void log_close_file(void);
void log_set_stderr(int on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A debug line of category cat (LOG_CAT_*), written only when it is on. */
void log_msg_cat(unsigned cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A log line rate limit, for lines that someone else can cause (a
 * client's bad credentials, a peer's connection): at most one line per
 * interval_ms, the next saying how many were left out. */
struct log_rate {
	uint64_t last_ms;     /* when the last line was written; 0: never */
	unsigned suppressed;  /* lines dropped since then */
};
/* 1: write a line now, and *suppressed says how many were dropped before it;
 * 0: drop this one (counted). */
int log_rate_allow(struct log_rate *rl, uint64_t now_ms, uint64_t interval_ms, unsigned *suppressed);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_debugc(cat, ...) log_msg_cat((cat), __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
