/*
 * The JSON writers the commands share.  Commands lay out their objects themselves with fprintf;
 * these functions write the two kinds of value that need care: strings, which must be escaped
 * and valid UTF-8 (file and function names are arbitrary bytes), and floating-point numbers,
 * which must never come out as nan or inf.
 */
#include "analyzer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Returns the length of the valid UTF-8 sequence at S (2 to 4 bytes), or 0 if S does not start
 * one.  The caller has checked that S[0] is not ASCII.
 */
static size_t
json_utf8_length(const unsigned char *s)
{
	size_t n, i;
	unsigned int c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		/* A NUL ends the string here, and fails this test like any other non-continuation. */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || (c >= 0xd800 && c <= 0xdfff) ||
	    c > 0x10ffff)
		return 0;
	return n;
}

/*
 * Writes S as a JSON string, or null if S is NULL.  Bytes that are not valid UTF-8 are written as
 * the code point of the same value (as if the input were Latin-1), so the output is always valid.
 */
void
json_string(FILE *f, const char *s)
{
	const unsigned char *p;
	size_t n;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else if (*p < 0x80)
				putc(*p, f);
			else if ((n = json_utf8_length(p)) != 0) {
				fwrite(p, 1, n, f);
				p += n - 1;
			} else
				fprintf(f, "\\u%04x", *p);
			break;
		}
	}
	putc('"', f);
}

/* Writes D with DIGITS digits after the point, or null if D is not finite. */
void
json_double(FILE *f, double d, int digits)
{
	if (!isfinite(d))
		fputs("null", f);
	else
		fprintf(f, "%.*f", digits, d);
}
