/* assay.conf syntax and numeric range checks (see conf.h). Not for option
 * tables or defaults: those live with each program. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/error.h"

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

static int conf_fail(char *err, size_t errlen, const char *path, int lineno, const char *why)
{
	snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
	return ASSAY_EARG;
}

int conf_read_file(const char *path, conf_entry_fn fn, void *ctx, int *found, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (found)
		*found = f != NULL;
	if (!f) {
		if (errno == ENOENT)
			return 0; /* optional */
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return ASSAY_EIO;
	}
	char line[CONF_LINE_MAX + 1], why[CONF_LINE_MAX + 128];
	int lineno = 0, rc = 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
			snprintf(why, sizeof(why), "line longer than %d bytes", CONF_LINE_MAX);
			rc = conf_fail(err, errlen, path, lineno, why);
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = conf_fail(err, errlen, path, lineno, "expected name=value");
			break;
		}
		*eq = 0;
		char *name = trim(s), *value = trim(eq + 1);
		if (!*name) {
			rc = conf_fail(err, errlen, path, lineno, "expected name=value (no name)");
			break;
		}
		if (strchr(value, '#')) {
			snprintf(why, sizeof(why),
				 "'#' in the value of %s: comments go on lines of their own, and a '#' "
				 "cannot be part of a value (choose an rpcpassword without '#')",
				 name);
			rc = conf_fail(err, errlen, path, lineno, why);
			break;
		}
		char sub[512] = "";
		rc = fn(ctx, name, value, sub, sizeof(sub));
		if (rc)
			conf_fail(err, errlen, path, lineno, sub);
	}
	fclose(f);
	return rc;
}

int conf_parse_u64(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		   size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long v = 0;
	int ok = text && isdigit((unsigned char)text[0]);
	if (ok) {
		v = strtoull(text, &end, 10);
		ok = !errno && !*end;
	}
	if (!ok) {
		snprintf(err, errlen, "-%s=%s is not a number: use %llu to %llu", name, text ? text : "",
			 (unsigned long long)min, (unsigned long long)max);
		return ASSAY_EARG;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "-%s=%s is out of range: use %llu to %llu", name, text,
			 (unsigned long long)min, (unsigned long long)max);
		return ASSAY_EARG;
	}
	*out = v;
	return 0;
}

int conf_parse_int(const char *name, const char *text, int min, int max, int *out, char *err, size_t errlen)
{
	uint64_t v;
	/* negative minima are not used by any flag: every int flag counts or names a port */
	int rc = conf_parse_u64(name, text, min > 0 ? (uint64_t)min : 0, max > 0 ? (uint64_t)max : 0, &v, err,
				errlen);
	if (rc == 0)
		*out = (int)v;
	return rc;
}
