/* The request-body parser of the JSON-RPC server (rpc.h: rpc_json_parse,
 * rpc_json_scan): jansson's answer for every body, reached faster for the
 * plain bodies a transaction flood sends. Pure: no I/O, no state. */
#include <string.h>

#include <jansson.h>

#include "node/rpc.h"

/* A recursive descent over the subset only: every byte it does not expect
 * ends the scan with NULL, and jansson then parses the body from the
 * start, so errors (and anything unusual) are jansson's own. */
struct json_scan {
	const char *p, *end;
};

static void scan_space(struct json_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* A string's characters: printable ASCII but '"' and '\\'. */
static int scan_string(struct json_scan *s, const char **start, size_t *n)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	const char *q = ++s->p;
	while (q < s->end && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f && *q != '"' && *q != '\\')
		q++;
	if (q >= s->end || *q != '"')
		return -1;
	*start = s->p;
	*n = (size_t)(q - s->p);
	s->p = q + 1;
	return 0;
}

static int scan_word(struct json_scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

static json_t *scan_value(struct json_scan *s, int depth);

/* After a member or element: 1 at the closing byte (consumed), 0 after a
 * comma, -1 otherwise. */
static int scan_next(struct json_scan *s, char close)
{
	scan_space(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 1;
	}
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		scan_space(s);
		return 0;
	}
	return -1;
}

static json_t *scan_object(struct json_scan *s, int depth)
{
	json_t *o = json_object();
	s->p++; /* '{' */
	scan_space(s);
	if (o && s->p < s->end && *s->p == '}') {
		s->p++;
		return o;
	}
	for (int more = 0; o && more == 0;) {
		const char *k;
		size_t kn;
		char key[64];
		if (scan_string(s, &k, &kn) < 0 || kn >= sizeof(key))
			break;
		memcpy(key, k, kn);
		key[kn] = 0;
		scan_space(s);
		if (s->p >= s->end || *s->p != ':' ||
		    json_object_get(o, key)) /* a repeated key: jansson's to settle */
			break;
		s->p++;
		scan_space(s);
		json_t *v = scan_value(s, depth + 1);
		if (!v || json_object_set_new_nocheck(o, key, v) < 0)
			break;
		more = scan_next(s, '}');
		if (more == 1)
			return o;
	}
	json_decref(o);
	return NULL;
}

static json_t *scan_array(struct json_scan *s, int depth)
{
	json_t *a = json_array();
	s->p++; /* '[' */
	scan_space(s);
	if (a && s->p < s->end && *s->p == ']') {
		s->p++;
		return a;
	}
	for (int more = 0; a && more == 0;) {
		json_t *v = scan_value(s, depth + 1);
		if (!v || json_array_append_new(a, v) < 0)
			break;
		more = scan_next(s, ']');
		if (more == 1)
			return a;
	}
	json_decref(a);
	return NULL;
}

static json_t *scan_value(struct json_scan *s, int depth)
{
	if (s->p >= s->end || depth > RPC_JSON_SCAN_DEPTH)
		return NULL;
	char c = *s->p;
	if (c == '{')
		return scan_object(s, depth);
	if (c == '[')
		return scan_array(s, depth);
	if (c == '"') {
		const char *v;
		size_t n;
		return scan_string(s, &v, &n) < 0 ? NULL : json_stringn_nocheck(v, n);
	}
	if (c >= '0' && c <= '9') {
		/* No leading zero, no fraction or exponent: the byte after must
		 * end the value (scan_next checks it), so "01", "1.5", "1e3" fall
		 * through to jansson. */
		json_int_t v = 0;
		const char *start = s->p;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < 18)
			v = v * 10 + (*s->p++ - '0');
		if ((c == '0' && s->p - start > 1) ||
		    (s->p < s->end &&
		     ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' || *s->p == 'e' || *s->p == 'E')))
			return NULL;
		return json_integer(v);
	}
	if (scan_word(s, "true") == 0)
		return json_true();
	if (scan_word(s, "false") == 0)
		return json_false();
	if (scan_word(s, "null") == 0)
		return json_null();
	return NULL;
}

json_t *rpc_json_scan(const char *text, size_t len)
{
	struct json_scan s = {text, text + len};
	scan_space(&s);
	if (s.p >= s.end || (*s.p != '{' && *s.p != '['))
		return NULL; /* jansson takes only an object or an array here */
	json_t *v = scan_value(&s, 1);
	scan_space(&s);
	if (v && s.p != s.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *rpc_json_parse(const char *text, size_t len, json_error_t *err)
{
	json_t *v = rpc_json_scan(text, len);
	/* A repeated key is refused, never settled: jansson alone keeps the
	 * last, so {"method":"getblockcount","method":"stop"} ran stop, while
	 * a proxy or log that reads the first saw getblockcount. */
	return v ? v : json_loadb(text, len, JSON_REJECT_DUPLICATES, err);
}
