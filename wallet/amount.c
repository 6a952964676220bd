/* Decimal ASY text <-> base units (see amount.h). Integer-only on purpose:
 * a double cannot hold every u64, and 0.1 ASY must be exactly 10^8 units. */
#include <stdio.h>

#include "core/error.h"
#include "wallet/amount.h"

int amount_parse(const char *text, uint64_t *units)
{
	uint64_t whole = 0, frac = 0;
	unsigned whole_digits = 0, frac_digits = 0;
	const char *p = text;

	if (!text || !*text)
		return ASSAY_EARG;
	for (; *p >= '0' && *p <= '9'; p++, whole_digits++) {
		unsigned d = (unsigned)(*p - '0');
		if (whole > (UINT64_MAX - d) / 10)
			return ASSAY_EOVERFLOW;
		whole = whole * 10 + d;
	}
	if (whole_digits == 0)
		return ASSAY_EARG;
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, frac_digits++) {
			if (frac_digits == AMOUNT_DECIMALS)
				return ASSAY_EARG;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		if (frac_digits == 0) /* "1." reads as a typo, not as 1 */
			return ASSAY_EARG;
	}
	if (*p)
		return ASSAY_EARG;
	for (unsigned i = frac_digits; i < AMOUNT_DECIMALS; i++)
		frac *= 10;
	if (whole > (UINT64_MAX - frac) / AMOUNT_UNITS_PER_ASY)
		return ASSAY_EOVERFLOW;
	*units = whole * AMOUNT_UNITS_PER_ASY + frac;
	return 0;
}

void amount_format(uint64_t units, char out[AMOUNT_STR_MAX])
{
	snprintf(out, AMOUNT_STR_MAX, "%llu.%09llu",
		 (unsigned long long)(units / AMOUNT_UNITS_PER_ASY),
		 (unsigned long long)(units % AMOUNT_UNITS_PER_ASY));
}
