/* Logging to stderr and an optional file (debug.log), with levels and a
 * timestamp. Not for consensus code: that code returns errors, the node logs. */
#ifndef ASSAY_CORE_LOG_H
#define ASSAY_CORE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level lvl);
/* Opens path for append and logs there too; 0 ok, ASSAY_EIO. */
int log_open_file(const char *path);
void log_close_file(void);
void log_set_stderr(int on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
