/* ASY amounts as people type and read them: decimal text with up to nine
 * fractional digits <-> u64 base units (1 ASY = 10^9 units), exact, with no
 * floating point anywhere. Not for: arithmetic on balances (core/ledger.h). */
#ifndef ASSAY_WALLET_AMOUNT_H
#define ASSAY_WALLET_AMOUNT_H

#include <stdint.h>

#define AMOUNT_DECIMALS 9                       /* digits after the point */
#define AMOUNT_UNITS_PER_ASY 1000000000ull      /* 10^AMOUNT_DECIMALS */
/* Longest formatted amount: 11 integer digits of u64 max / 10^9, the point,
 * nine decimals, the NUL; rounded up. */
#define AMOUNT_STR_MAX 32

/* Parses "1", "1.5", "0.000000001", ".5" is refused (a digit must lead) and
 * so are signs, spaces, exponents, more than nine decimals, an empty string
 * and values above UINT64_MAX units. 0 ok; ASSAY_EARG for malformed text;
 * ASSAY_EOVERFLOW when the value does not fit in u64 base units. */
int amount_parse(const char *text, uint64_t *units);

/* Writes units as ASY with exactly nine decimals ("1.500000000"). */
void amount_format(uint64_t units, char out[AMOUNT_STR_MAX]);

#endif
