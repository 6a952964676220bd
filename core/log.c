/* Log sink (see log.h): one mutex, ISO-8601 UTC timestamps with
 * milliseconds, line-buffered so a crash loses at most the current line. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"

static enum log_level log_min = LOG_INFO;
static FILE *log_file;
static int log_to_stderr = 1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

void log_set_stderr(int on)
{
	log_to_stderr = on;
}

int log_open_file(const char *path)
{
	FILE *f = fopen(path, "a");
	if (!f)
		return ASSAY_EIO;
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_close_file(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (lvl < log_min)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[96];
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (log_to_stderr)
		fprintf(stderr, "%s [%s] %s\n", stamp, names[lvl], line);
	if (log_file)
		fprintf(log_file, "%s [%s] %s\n", stamp, names[lvl], line);
	pthread_mutex_unlock(&log_lock);
}
