/* Log sink (see log.h): one mutex, ISO-8601 UTC timestamps with
 * milliseconds, line-buffered so a crash loses at most the current line. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"

static enum log_level log_min = LOG_INFO;
static unsigned log_cats; /* LOG_CAT_* that are on */
static FILE *log_file;
static char *log_path; /* of log_file, for log_reopen */
static int log_to_stderr = 1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	unsigned bit;
} categories[] = {
	{"net", LOG_CAT_NET},         {"mempool", LOG_CAT_MEMPOOL},
	{"rpc", LOG_CAT_RPC},         {"consensus", LOG_CAT_CONSENSUS},
	{"compute", LOG_CAT_COMPUTE},
};
#define NCATEGORIES (sizeof(categories) / sizeof(categories[0]))

const char *log_category_list(void)
{
	return "net, mempool, rpc, consensus, compute";
}

int log_parse_categories(const char *text, unsigned *mask, char *err, size_t errlen)
{
	const char *p = text;
	while (1) {
		size_t len = strcspn(p, ",");
		if (len == 0) {
			snprintf(err, errlen, "-debug: empty category in \"%s\" (use %s, 1 or all)", text,
				 log_category_list());
			return ASSAY_EARG;
		}
		if ((len == 1 && *p == '1') || (len == 3 && strncmp(p, "all", 3) == 0)) {
			*mask |= LOG_CAT_ALL;
		} else if ((len == 1 && *p == '0') || (len == 4 && strncmp(p, "none", 4) == 0)) {
			*mask = 0;
		} else {
			size_t i = 0;
			while (i < NCATEGORIES && (strlen(categories[i].name) != len ||
						   strncmp(categories[i].name, p, len) != 0))
				i++;
			if (i == NCATEGORIES) {
				enum log_level lvl;
				char word[16];
				snprintf(word, sizeof(word), "%.*s", (int)(len < 15 ? len : 15), p);
				snprintf(err, errlen,
					 "-debug: unknown category \"%.*s\" (use %s, 1 or all)%s%s", (int)len,
					 p, log_category_list(),
					 log_parse_level(word, &lvl) == 0 ? "; for the log level: -loglevel="
									  : "",
					 log_parse_level(word, &lvl) == 0 ? word : "");
				return ASSAY_EARG;
			}
			*mask |= categories[i].bit;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

void log_set_categories(unsigned mask)
{
	log_cats = mask & LOG_CAT_ALL;
}

int log_category_on(unsigned cat)
{
	return (log_cats & cat) != 0;
}

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

int log_parse_level(const char *text, enum log_level *lvl)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0) {
			*lvl = (enum log_level)i;
			return 0;
		}
	return ASSAY_EARG;
}

void log_set_stderr(int on)
{
	log_to_stderr = on;
}

int log_open_file(const char *path)
{
	char *copy = strdup(path);
	FILE *f = copy ? fopen(path, "a") : NULL;
	if (!f) {
		free(copy);
		return ASSAY_EIO;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	free(log_path);
	log_file = f;
	log_path = copy;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int log_reopen(void)
{
	pthread_mutex_lock(&log_lock);
	int rc = 0;
	if (log_path) {
		/* open the new file before closing the old: a failure keeps logging */
		FILE *f = fopen(log_path, "a");
		if (f) {
			setvbuf(f, NULL, _IOLBF, 0);
			if (log_file)
				fclose(log_file);
			log_file = f;
		} else {
			rc = ASSAY_EIO;
		}
	}
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void log_close_file(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_lock);
}

static void log_write(const char *tag, const char *fmt, va_list ap)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[96];
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	pthread_mutex_lock(&log_lock);
	if (log_to_stderr)
		fprintf(stderr, "%s [%s] %s\n", stamp, tag, line);
	if (log_file)
		fprintf(log_file, "%s [%s] %s\n", stamp, tag, line);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (lvl < log_min)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_write(names[lvl], fmt, ap);
	va_end(ap);
}

void log_msg_cat(unsigned cat, const char *fmt, ...)
{
	if (!(log_cats & cat) && log_min > LOG_DEBUG)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_write("debug", fmt, ap);
	va_end(ap);
}

int log_rate_allow(struct log_rate *rl, uint64_t now, uint64_t interval_ms, unsigned *suppressed)
{
	if (rl->last_ms != 0 && now - rl->last_ms < interval_ms) {
		rl->suppressed++;
		return 0;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_ms = now ? now : 1;
	return 1;
}
