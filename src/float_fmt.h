/* Floats written as Go writes them: the shortest digits that read back
 * the same (strconv's -1 precision), shared by the templates' printing
 * (template_fmt.c) and OTLP's value texts (otlp.c). */
#ifndef LOGTHRA_FLOAT_FMT_H
#define LOGTHRA_FLOAT_FMT_H

#include "buf.h"

/* The shortest digits that strtod reads back as f (f finite, > 0), in d
 * (at least 32 bytes) without a dot, NUL-terminated; f = 0.d * 10^dp, as
 * Go's strconv keeps them. */
void lt_float_digits(double f, char *d, int *nd, int *dp);

/* f as Go's encoding/json writes a float64 (and pcommon's
 * Value.AsString() a double): ES6's number to string, 'f' form, or 'e'
 * when |f| < 1e-6 or >= 1e21 with "e-7" rather than "e-07".  Returns 0,
 * -1 when out of memory, 1 (nothing written) for NaN and infinities,
 * which JSON cannot hold. */
int lt_float_json(struct lt_buf *out, double f);

#endif
