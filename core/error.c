/* Text for the shared error codes of error.h. */
#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"

const char *assay_strerror(int err)
{
	switch (err) {
	case ASSAY_OK: return "ok";
	case ASSAY_ENOMEM: return "out of memory";
	case ASSAY_EDECODE: return "malformed or non-canonical encoding";
	case ASSAY_ELIMIT: return "size or count limit exceeded";
	case ASSAY_ESIG: return "bad signature or proof";
	case ASSAY_EINVALID: return "invalid";
	case ASSAY_EIO: return "I/O error";
	case ASSAY_ENOTFOUND: return "not found";
	case ASSAY_EOVERFLOW: return "amount overflow";
	case ASSAY_EBALANCE: return "insufficient balance";
	case ASSAY_ENONCE: return "bad nonce";
	case ASSAY_ECHAIN: return "wrong chain";
	case ASSAY_EEXISTS: return "already exists";
	case ASSAY_EGAS: return "out of gas";
	case ASSAY_ETRAP: return "VM trap";
	case ASSAY_EAUTH: return "authentication failed";
	case ASSAY_EARG: return "bad argument";
	case ASSAY_EFEE: return "fee too low";
	case ASSAY_EFULL: return "full";
	case ASSAY_EREVERT: return "reverted";
	case ASSAY_ECORRUPT: return "stored data is damaged";
	case ASSAY_ECANCELED: return "stopped on request";
	case ASSAY_EUNAVAIL: return "referenced data not available yet";
	}
	return "unknown error";
}

int assay_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
