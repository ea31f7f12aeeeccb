/*
 * output.h - printing records as a table for people, or as JSON lines or
 * CSV for programs (output.c), and the escapers they use (output_escape.c).
 */
#ifndef PHITRAIL_OUTPUT_H
#define PHITRAIL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "record.h"

struct cli_output;

#define CLI_ELLIPSIS "\xe2\x80\xa6"      /* U+2026, one column wide */

struct cli_output_format {
	const char *name;
	/* Called for each record, in the order they are to be printed. */
	int (*record)(struct cli_output *out, const struct record *r);
	/* End of a batch: what was held back is printed now. */
	int (*flush)(struct cli_output *out);
	/* End of the output: the table's "N records" line. */
	int (*finish)(struct cli_output *out);
};

/* One row of the table, copied out of the record's arena. */
struct cli_table_row {
	char *cells[9];
};

struct cli_output {
	const struct cli_output_format *format;
	FILE *stream;
	size_t terminal_columns;        /* 0: never shorten */
	const struct config *config;    /* fhir: the rules' protocols; may be NULL */
	long long records;              /* printed so far */
	int header_done;
	/* table: rows held until the batch ends, and the column widths */
	struct cli_table_row *rows;
	size_t row_count, row_capacity;
	size_t widths[9];
};

/* The format called name ("table", "json", "csv", "fhir"), or NULL. */
const struct cli_output_format *cli_output_find(const char *name);
/* "table, json, csv, fhir", for messages. */
const char *cli_output_names(void);

void cli_output_init(struct cli_output *out,
		     const struct cli_output_format *format, FILE *stream,
		     size_t terminal_columns);
void cli_output_free(struct cli_output *out);

/*
 * The building blocks, also for tests. All return 0 or -EIO when the
 * stream failed.
 *
 * JSON string with quotes: '"' and '\\' escaped, control characters (and
 * DEL) as \u00XX; bytes that are not part of valid UTF-8 (stray
 * continuation bytes, overlong forms, surrogates, code points over
 * U+10FFFF, truncated sequences) are each written as \u00XX of the byte,
 * so the output is always valid JSON, and a byte-exact path can still be
 * told from its neighbours.
 */
int cli_json_string(FILE *stream, const char *s);
/*
 * RFC 4180 field, safe to open in a spreadsheet and to print on a
 * terminal: a control byte (see cli_control_length) is written as \xHH
 * and '\\' as "\\\\", so no CR, LF, TAB, ESC or BEL is ever written raw
 * and the bytes stay recoverable; a field starting with = + - @ TAB or CR
 * (OWASP's formula starts) is written as text: quoted, with a leading '\''.
 * Quoted too when it holds ',' or '"'; '"' doubled.
 */
int cli_csv_field(FILE *stream, const char *s);
/* The record as one JSON object (no newline). */
int cli_json_record(FILE *stream, const struct record *r);

/* Display columns of a UTF-8 string (one per code point; a bad byte is one). */
size_t cli_display_width(const char *s);
/*
 * Copies s into out, shortened from the left to at most width display
 * columns: "…" followed by the end of s. s unchanged when it fits.
 */
void cli_shorten_left(const char *s, size_t width, char *out,
		      size_t out_size);
/*
 * How many bytes at p form a control that must not reach a terminal or a
 * spreadsheet raw: 1 for a C0 control, DEL or a byte that is not valid
 * UTF-8, 2 for a C1 control (U+0080..U+009F), 0 for a printable character.
 */
size_t cli_control_length(const unsigned char *p);
/* Copies s with control characters and bad UTF-8 bytes replaced by '?'. */
char *cli_printable_dup(const char *s);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
size_t cli_utf8_sequence(const unsigned char *s);

#endif
