/*
 * output.c - the CLI's record writers: "table" (aligned columns for people,
 * long targets shortened from the left to fit the terminal), "json" (one
 * object per line, the schema's key names in schema order) and "csv"
 * (RFC 4180 with a header row). One const table lists the formats; one
 * const table lists the record's fields in schema order for JSON and CSV.
 *
 * Owns: the layout of each format. Escaping is output_escape.c's: whatever
 * bytes a record holds (paths are arbitrary bytes), JSON output is always
 * valid JSON and UTF-8, CSV fields are always quoted where needed, never
 * start a spreadsheet formula and hold no control byte, and the table
 * never sends a control character to the terminal.
 * Must never: decode or fetch records (its callers do), or print anything
 * but the records and the table's count line on the stream it is given.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "output.h"
#include "output_fhir.h"
#include "timefmt.h"

#define TARGET_MIN_COLUMNS 12

static int
stream_status(FILE *stream)
{
	return ferror(stream) ? -EIO : 0;
}

/* ---- the record's fields, in schema order ----------------------------- */

enum field_kind {
	FIELD_STRING,           /* const char *, NULL = absent */
	FIELD_INTEGER,          /* int64_t, RECORD_ABSENT = absent */
	FIELD_EVENT,            /* enum event_type, by name */
	FIELD_TIMESTAMP,        /* timestamp_sec/nsec */
	FIELD_RECEIVED,         /* received_sec/nsec */
	FIELD_DETAIL,           /* nested map */
};

static const struct record_field {
	const char *name;
	enum field_kind kind;
	size_t offset;
} record_fields[] = {
	{ "id", FIELD_INTEGER, offsetof(struct record, id) },
	{ "workspace_id", FIELD_STRING, offsetof(struct record, workspace_id) },
	{ "actor_user_id", FIELD_STRING, offsetof(struct record, actor_user_id) },
	{ "event_type", FIELD_EVENT, 0 },
	{ "end_user_id", FIELD_STRING, offsetof(struct record, end_user_id) },
	{ "timestamp", FIELD_TIMESTAMP, 0 },
	{ "v", FIELD_INTEGER, offsetof(struct record, v) },
	{ "host", FIELD_STRING, offsetof(struct record, host) },
	{ "pid", FIELD_INTEGER, offsetof(struct record, pid) },
	{ "ppid", FIELD_INTEGER, offsetof(struct record, ppid) },
	{ "exe", FIELD_STRING, offsetof(struct record, exe) },
	{ "uid", FIELD_INTEGER, offsetof(struct record, uid) },
	{ "auid", FIELD_INTEGER, offsetof(struct record, auid) },
	{ "session", FIELD_INTEGER, offsetof(struct record, session) },
	{ "target", FIELD_STRING, offsetof(struct record, target) },
	{ "target2", FIELD_STRING, offsetof(struct record, target2) },
	{ "rule", FIELD_STRING, offsetof(struct record, rule) },
	{ "result", FIELD_STRING, offsetof(struct record, result) },
	{ "seq", FIELD_INTEGER, offsetof(struct record, seq) },
	{ "detail", FIELD_DETAIL, 0 },
	{ "received_at", FIELD_RECEIVED, 0 },
	{ "identity", FIELD_STRING, offsetof(struct record, identity) },
};
#define FIELD_COUNT (sizeof(record_fields) / sizeof(record_fields[0]))

static const char *
field_string(const struct record *r, const struct record_field *f)
{
	return *(const char *const *)((const char *)r + f->offset);
}

static int64_t
field_integer(const struct record *r, const struct record_field *f)
{
	return *(const int64_t *)((const char *)r + f->offset);
}

/* The field as text, for JSON (as a string) and CSV; NULL when absent. */
static const char *
field_text(const struct record *r, const struct record_field *f, char *buf,
	   size_t size)
{
	switch (f->kind) {
	case FIELD_STRING:
		return field_string(r, f);
	case FIELD_INTEGER:
		if (field_integer(r, f) == RECORD_ABSENT)
			return NULL;
		snprintf(buf, size, "%" PRId64, field_integer(r, f));
		return buf;
	case FIELD_EVENT:
		return event_type_name(r->event_type);
	case FIELD_TIMESTAMP:
		if (r->timestamp_sec == RECORD_ABSENT ||
		    cli_time_format_rfc3339(r->timestamp_sec, r->timestamp_nsec,
					    buf, size) < 0)
			return NULL;
		return buf;
	case FIELD_RECEIVED:
		if (r->received_sec == RECORD_ABSENT ||
		    cli_time_format_rfc3339(r->received_sec, r->received_nsec,
					    buf, size) < 0)
			return NULL;
		return buf;
	case FIELD_DETAIL:
		break;
	}
	return NULL;
}

static int
json_detail(FILE *stream, const struct record *r)
{
	fputc('{', stream);
	for (size_t i = 0; i < r->detail_count && i < RECORD_MAX_DETAIL; i++) {
		const struct record_detail *d = &r->detail[i];
		if (i > 0)
			fputc(',', stream);
		cli_json_string(stream, d->key ? d->key : "");
		fputc(':', stream);
		if (d->str)
			cli_json_string(stream, d->str);
		else
			fprintf(stream, "%" PRId64, d->num);
	}
	fputc('}', stream);
	return stream_status(stream);
}

int
cli_json_record(FILE *stream, const struct record *r)
{
	char buf[CLI_TIME_TEXT_MAX];

	fputc('{', stream);
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		const struct record_field *f = &record_fields[i];
		const char *text;

		if (i > 0)
			fputc(',', stream);
		cli_json_string(stream, f->name);
		fputc(':', stream);
		if (f->kind == FIELD_DETAIL) {
			json_detail(stream, r);
			continue;
		}
		text = field_text(r, f, buf, sizeof(buf));
		if (text == NULL)
			fputs("null", stream);
		else if (f->kind == FIELD_INTEGER)
			fputs(text, stream);
		else
			cli_json_string(stream, text);
	}
	fputc('}', stream);
	return stream_status(stream);
}

/* ---- json ------------------------------------------------------------- */

static int
json_write_record(struct cli_output *out, const struct record *r)
{
	cli_json_record(out->stream, r);
	fputc('\n', out->stream);
	out->records++;
	return stream_status(out->stream);
}

static int
stream_flush(struct cli_output *out)
{
	return fflush(out->stream) == 0 ? 0 : -EIO;
}

/* ---- csv -------------------------------------------------------------- */

static int
csv_header(struct cli_output *out)
{
	if (out->header_done)
		return 0;
	out->header_done = 1;
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		if (i > 0)
			fputc(',', out->stream);
		cli_csv_field(out->stream, record_fields[i].name);
	}
	fputs("\r\n", out->stream);
	return stream_status(out->stream);
}

static int
csv_write_record(struct cli_output *out, const struct record *r)
{
	char buf[CLI_TIME_TEXT_MAX];

	csv_header(out);
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		const struct record_field *f = &record_fields[i];
		const char *text;

		if (i > 0)
			fputc(',', out->stream);
		if (f->kind == FIELD_DETAIL) {
			char *json = NULL;
			size_t json_len = 0;
			FILE *mem = open_memstream(&json, &json_len);
			if (mem == NULL)
				return -ENOMEM;
			json_detail(mem, r);
			if (fclose(mem) != 0) {
				free(json);
				return -ENOMEM;
			}
			if (r->detail_count > 0)
				cli_csv_field(out->stream, json);
			free(json);
			continue;
		}
		text = field_text(r, f, buf, sizeof(buf));
		if (text != NULL)
			cli_csv_field(out->stream, text);
	}
	fputs("\r\n", out->stream);
	out->records++;
	return stream_status(out->stream);
}

static int
csv_finish(struct cli_output *out)
{
	csv_header(out);
	return stream_flush(out);
}

/* ---- table ------------------------------------------------------------ */

enum table_column {
	COLUMN_TIME, COLUMN_ACTOR, COLUMN_EVENT, COLUMN_PATIENT, COLUMN_TARGET,
	COLUMN_PROGRAM, COLUMN_HOST, COLUMN_RESULT, COLUMN_ID, COLUMN_COUNT
};

static const char *const table_headers[COLUMN_COUNT] = {
	"TIME", "ACTOR", "EVENT", "PATIENT", "TARGET", "PROGRAM", "HOST", "RESULT",
	"ID"
};

_Static_assert(COLUMN_COUNT == sizeof(((struct cli_table_row *)0)->cells) /
	       sizeof(char *), "cli_table_row holds one cell per column");

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int
table_write_record(struct cli_output *out, const struct record *r)
{
	char time_text[CLI_TIME_TEXT_MAX], id_text[24], *target = NULL;
	const char *program = NULL, *slash;
	const char *texts[COLUMN_COUNT];
	struct cli_table_row row;

	if (out->row_count == out->row_capacity) {
		size_t capacity = out->row_capacity ? out->row_capacity * 2 : 64;
		struct cli_table_row *rows = reallocarray(out->rows, capacity,
							  sizeof(*rows));
		if (rows == NULL)
			return -ENOMEM;
		out->rows = rows;
		out->row_capacity = capacity;
	}
	if (r->timestamp_sec == RECORD_ABSENT ||
	    cli_time_format_table(r->timestamp_sec, time_text,
				  sizeof(time_text)) < 0)
		strlcpy(time_text, "-", sizeof(time_text));
	if (r->id == RECORD_ABSENT)
		strlcpy(id_text, "-", sizeof(id_text));
	else
		snprintf(id_text, sizeof(id_text), "%" PRId64, r->id);
	if (r->exe) {
		slash = strrchr(r->exe, '/');
		program = slash && slash[1] ? slash + 1 : r->exe;
	}
	if (r->target && r->target2) {
		if (asprintf(&target, "%s -> %s", r->target, r->target2) < 0)
			return -ENOMEM;
	}

	texts[COLUMN_TIME] = time_text;
	texts[COLUMN_ACTOR] = or_dash(r->actor_user_id);
	texts[COLUMN_EVENT] = or_dash(event_type_name(r->event_type));
	texts[COLUMN_PATIENT] = or_dash(r->end_user_id);
	texts[COLUMN_TARGET] = or_dash(target ? target : r->target);
	texts[COLUMN_PROGRAM] = or_dash(program);
	texts[COLUMN_HOST] = or_dash(r->host);
	texts[COLUMN_RESULT] = or_dash(r->result);
	texts[COLUMN_ID] = id_text;

	for (size_t c = 0; c < COLUMN_COUNT; c++) {
		row.cells[c] = cli_printable_dup(texts[c]);
		if (row.cells[c] == NULL) {
			while (c-- > 0)
				free(row.cells[c]);
			free(target);
			return -ENOMEM;
		}
	}
	free(target);
	out->rows[out->row_count++] = row;
	return 0;
}

static void
table_pad(FILE *stream, size_t count)
{
	while (count-- > 0)
		fputc(' ', stream);
}

static void
table_line(struct cli_output *out, char *const *cells, size_t target_width)
{
	char *shortened = NULL;

	for (size_t c = 0; c < COLUMN_COUNT; c++) {
		const char *cell = cells[c];
		size_t width = c == COLUMN_TARGET ? target_width : out->widths[c];
		size_t cell_width = cli_display_width(cell);

		if (c == COLUMN_TARGET && cell_width > width) {
			size_t size = strlen(cell) + sizeof(CLI_ELLIPSIS);
			shortened = malloc(size);
			if (shortened) {
				cli_shorten_left(cell, width, shortened, size);
				cell = shortened;
				cell_width = cli_display_width(cell);
			}
		}
		if (c > 0)
			fputs("  ", out->stream);
		if (c == COLUMN_ID) {           /* numbers align right */
			table_pad(out->stream, width > cell_width ?
				  width - cell_width : 0);
			fputs(cell, out->stream);
		} else {
			fputs(cell, out->stream);
			if (c + 1 < COLUMN_COUNT)
				table_pad(out->stream, width > cell_width ?
					  width - cell_width : 0);
		}
	}
	fputc('\n', out->stream);
	free(shortened);
}

static int
table_flush(struct cli_output *out)
{
	size_t total = 0, target_width;

	if (out->row_count == 0)
		return stream_flush(out);
	for (size_t c = 0; c < COLUMN_COUNT; c++) {
		size_t w = cli_display_width(table_headers[c]);
		if (out->widths[c] < w)
			out->widths[c] = w;
		for (size_t i = 0; i < out->row_count; i++) {
			w = cli_display_width(out->rows[i].cells[c]);
			if (out->widths[c] < w)
				out->widths[c] = w;
		}
		total += out->widths[c] + (c > 0 ? 2 : 0);
	}
	target_width = out->widths[COLUMN_TARGET];
	if (out->terminal_columns > 0 && total > out->terminal_columns) {
		size_t others = total - target_width;
		target_width = out->terminal_columns > others ?
			out->terminal_columns - others : 0;
		if (target_width < TARGET_MIN_COLUMNS)
			target_width = TARGET_MIN_COLUMNS;
	}
	if (!out->header_done) {
		table_line(out, (char *const *)table_headers, target_width);
		out->header_done = 1;
	}
	for (size_t i = 0; i < out->row_count; i++) {
		table_line(out, out->rows[i].cells, target_width);
		for (size_t c = 0; c < COLUMN_COUNT; c++)
			free(out->rows[i].cells[c]);
		out->records++;
	}
	out->row_count = 0;
	return stream_flush(out);
}

static int
table_finish(struct cli_output *out)
{
	int rc = table_flush(out);

	fprintf(out->stream, "%lld record%s\n", out->records,
		out->records == 1 ? "" : "s");
	if (rc == 0)
		rc = stream_flush(out);
	return rc;
}

/* ---- the formats ------------------------------------------------------- */

static const struct cli_output_format output_formats[] = {
	{ "table", table_write_record, table_flush, table_finish },
	{ "json", json_write_record, stream_flush, stream_flush },
	{ "csv", csv_write_record, stream_flush, csv_finish },
	{ "fhir", cli_fhir_write_record, cli_fhir_flush, cli_fhir_finish },
};

const struct cli_output_format *
cli_output_find(const char *name)
{
	for (size_t i = 0; i < sizeof(output_formats) / sizeof(output_formats[0]); i++)
		if (strcmp(output_formats[i].name, name) == 0)
			return &output_formats[i];
	return NULL;
}

const char *
cli_output_names(void)
{
	return "table, json, csv, fhir";
}

void
cli_output_init(struct cli_output *out, const struct cli_output_format *format,
		FILE *stream, size_t terminal_columns)
{
	memset(out, 0, sizeof(*out));
	out->format = format;
	out->stream = stream;
	out->terminal_columns = terminal_columns;
}

void
cli_output_free(struct cli_output *out)
{
	for (size_t i = 0; i < out->row_count; i++)
		for (size_t c = 0; c < COLUMN_COUNT; c++)
			free(out->rows[i].cells[c]);
	free(out->rows);
	out->rows = NULL;
	out->row_count = out->row_capacity = 0;
}
