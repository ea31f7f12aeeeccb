/*
 * output_escape.c - escaping record text for where it is written (output.h):
 * JSON strings that are always valid JSON and UTF-8, CSV fields that are
 * quoted where needed, never start a spreadsheet formula and hold no
 * control byte, and text for the terminal that holds no control character
 * (shown as '?'), shortened from the left by display columns.
 *
 * Must never: drop a byte silently (an escaped byte stays recoverable in
 * JSON and CSV) or write anything but the escaped text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "output.h"
#include "utf8.h"

size_t
cli_utf8_sequence(const unsigned char *s)
{
	return utf8_sequence(s);
}

int
cli_json_string(FILE *stream, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', stream);
	while (*p) {
		size_t n;
		if (*p == '"' || *p == '\\') {
			fputc('\\', stream);
			fputc(*p++, stream);
		} else if (*p >= 0x20 && *p != 0x7f &&
			   (n = cli_utf8_sequence(p)) > 0) {
			fwrite(p, 1, n, stream);
			p += n;
		} else {
			/*
			 * A control character, or a byte that is not part of
			 * valid UTF-8: the byte itself as \u00XX. For the
			 * latter a reader sees U+0080..U+00FF in its place,
			 * which is valid JSON and keeps the original byte
			 * recoverable.
			 */
			fprintf(stream, "\\u%04x", *p++);
		}
	}
	fputc('"', stream);
	return ferror(stream) ? -EIO : 0;
}

/*
 * Bytes at p that must never reach a terminal or a spreadsheet as they are:
 * C0 controls, DEL, C1 controls (U+0080..U+009F, two bytes in UTF-8) and
 * bytes that are not part of valid UTF-8. Returns how many bytes at p are
 * such a control (0: p starts a printable character). The one definition
 * that the table, the reports and CSV share.
 */
size_t
cli_control_length(const unsigned char *p)
{
	size_t n = cli_utf8_sequence(p);

	if (*p < 0x20 || *p == 0x7f || n == 0)
		return 1;
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 2;
	return 0;
}

/* OWASP: a cell starting with one of these is a formula to a spreadsheet. */
static int
csv_formula_start(unsigned char c)
{
	return c != '\0' && strchr("=+-@\t\r", c) != NULL;
}

int
cli_csv_field(FILE *stream, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int formula = csv_formula_start(*p);
	int quote = formula || strpbrk(s, ",\"") != NULL;

	if (quote)
		fputc('"', stream);
	if (formula)
		fputc('\'', stream);
	while (*p) {
		size_t n = cli_control_length(p);
		if (n > 0) {
			while (n-- > 0)
				fprintf(stream, "\\x%02x", *p++);
			continue;
		}
		if (*p == '"')
			fputc('"', stream);
		else if (*p == '\\')
			fputc('\\', stream);
		n = cli_utf8_sequence(p);
		fwrite(p, 1, n, stream);
		p += n;
	}
	if (quote)
		fputc('"', stream);
	return ferror(stream) ? -EIO : 0;
}

size_t
cli_display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t width = 0;

	while (*p) {
		size_t n = cli_utf8_sequence(p);
		p += n ? n : 1;
		width++;
	}
	return width;
}

void
cli_shorten_left(const char *s, size_t width, char *out, size_t out_size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = cli_display_width(s);

	if (total <= width) {
		strlcpy(out, s, out_size);
		return;
	}
	if (width == 0) {
		strlcpy(out, "", out_size);
		return;
	}
	/* Skip total - (width - 1) characters, keep the rest after "…". */
	for (size_t skip = total - (width - 1); skip > 0 && *p; skip--) {
		size_t n = cli_utf8_sequence(p);
		p += n ? n : 1;
	}
	strlcpy(out, CLI_ELLIPSIS, out_size);
	strlcat(out, (const char *)p, out_size);
}

char *
cli_printable_dup(const char *s)
{
	size_t len = strlen(s);
	char *copy = malloc(len + 1);
	const unsigned char *p = (const unsigned char *)s;
	char *o = copy;

	if (copy == NULL)
		return NULL;
	while (*p) {
		size_t n = cli_control_length(p);
		if (n > 0) {
			*o++ = '?';
			p += n;
			continue;
		}
		n = cli_utf8_sequence(p);
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return copy;
}
