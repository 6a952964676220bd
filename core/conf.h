/* The one reader of assay.conf, shared by assayd, assay-cli and assay-worker
 * (docs/operations.md "Configuration file"), and the range check every
 * numeric flag of the three programs goes through. The reader knows the
 * syntax only; which names exist and what they mean is each program's. */
#ifndef ASSAY_CORE_CONF_H
#define ASSAY_CORE_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_LINE_MAX 1024 /* longest line, newline included; longer is an error */

/* One name=value entry: name and value are trimmed of blanks, value may be
 * empty. Return 0 to go on, or a negative code with err filled (the reader
 * prefixes "PATH:LINE: "). */
typedef int (*conf_entry_fn)(void *ctx, const char *name, const char *value, char *err, size_t errlen);

/* Reads path: blank lines and lines whose first non-blank character is '#'
 * are skipped; every other line is NAME=VALUE. A '#' anywhere else (a
 * trailing comment, or inside a value such as a password) is refused, since
 * cutting it off would change the value silently. 0 when the file is read
 * (or absent: *found says which; found may be NULL), else ASSAY_EARG or the
 * callback's code with "PATH:LINE: why" in err. */
int conf_read_file(const char *path, conf_entry_fn fn, void *ctx, int *found, char *err, size_t errlen);

/* Parses a decimal integer in [min, max] (no sign for unsigned values, no
 * blanks, nothing after it). 0, or ASSAY_EARG with "-NAME=TEXT ..." in err,
 * saying the range. */
int conf_parse_u64(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		   size_t errlen);
/* The same for an int (max at most INT_MAX). */
int conf_parse_int(const char *name, const char *text, int min, int max, int *out, char *err, size_t errlen);

#endif
