/*
 * stats.c - the "stats" verb: how many records match, grouped by actor,
 * patient, event type, program, hour or day. The collector does the
 * counting (the "stats" op of common/protocol/query.h: one frame per group); this
 * file sends the request, reads the group frames strictly, orders them
 * (periods by time, everything else by count, largest first) and prints an
 * aligned table for people, or JSON or CSV for programs.
 *
 * Owns: the stats exchange on the client side (cli_stats_fetch) and the
 * three writers. Must never: count records itself, or read the store.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "client.h"
#include "filters.h"
#include "options.h"
#include "output.h"
#include "stats.h"

enum stats_option {
	STATS_CONFIG = 'c', STATS_HELP = 'h',
	STATS_BY = CLI_FILTER_END, STATS_FORMAT,
};

static const struct option stats_options[] = {
	{ "config", required_argument, NULL, STATS_CONFIG },
	{ "help", no_argument, NULL, STATS_HELP },
	CLI_FILTER_LONG_OPTIONS,
	{ "by", required_argument, NULL, STATS_BY },
	{ "format", required_argument, NULL, STATS_FORMAT },
	{ NULL, 0, NULL, 0 },
};

/* What each "by" is called in a table heading, and what a nil key means. */
static const struct stats_by {
	const char *name;
	const char *heading;
	const char *nil_text;
	int chronological;              /* ordered by key, not by count */
} stats_bys[] = {
	{ "actor", "ACTOR", "(unknown)", 0 },
	{ "patient", "PATIENT", "(no patient)", 0 },
	{ "event", "EVENT", "(none)", 0 },
	{ "exe", "PROGRAM", "(unknown program)", 0 },
	{ "hour", "HOUR (UTC)", "(none)", 1 },
	{ "day", "DAY (UTC)", "(none)", 1 },
};

static const struct stats_by *
stats_by_find(const char *name)
{
	for (size_t i = 0; i < sizeof(stats_bys) / sizeof(stats_bys[0]); i++)
		if (strcmp(stats_bys[i].name, name) == 0)
			return &stats_bys[i];
	return NULL;
}

static void
stats_usage(FILE *stream)
{
	fprintf(stream, "usage: phitrail stats [--by WHAT] [FILTERS] "
		"[--format table|json|csv]\n\n"
		"Counts the records that match every filter given, grouped by "
		"WHAT:\n"
		"  actor, patient, event (default), exe (the program), hour or "
		"day (UTC).\n"
		"The collector does the counting; nothing but the counts is "
		"sent.\n\n%s"
		"  --by WHAT         what to group by (see above)\n"
		"  --format F        table (default: aligned, largest first; "
		"periods in\n"
		"                    time order), json (one object) or csv\n",
		cli_filter_help);
}

void
cli_stats_free(struct cli_stats *stats)
{
	for (size_t i = 0; i < stats->count; i++)
		free(stats->groups[i].key);
	free(stats->groups);
	memset(stats, 0, sizeof(*stats));
}

static int
stats_add(struct cli_stats *stats, const char *key, int nil, int64_t count)
{
	struct cli_stats_group *grown;

	if (stats->count == stats->capacity) {
		size_t capacity = stats->capacity ? stats->capacity * 2 : 64;
		grown = reallocarray(stats->groups, capacity, sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		stats->groups = grown;
		stats->capacity = capacity;
	}
	stats->groups[stats->count].key = nil ? NULL : strdup(key);
	if (!nil && stats->groups[stats->count].key == NULL)
		return -ENOMEM;
	stats->groups[stats->count++].count = count;
	stats->total += count;
	return 0;
}

/* Reads the answer to a stats request: group frames, then the end. */
static int
stats_read_answer(int fd, struct cli_stats *stats, char *message,
		  size_t message_size)
{
	static char key[QUERY_MAX_STRING];
	unsigned char *frame = malloc(QUERY_MAX_FRAME);
	int64_t count, end_count;
	long len;
	int nil, kind, rc;

	if (frame == NULL)
		return -ENOMEM;
	for (;;) {
		len = cli_client_read_frame(fd, frame, QUERY_MAX_FRAME);
		if (len <= 0) {
			rc = len == 0 ? -EPIPE : (int)len;
			snprintf(message, message_size, "%s", rc == -EPIPE ?
				 "the collector closed the connection before "
				 "the end of the answer" : strerror(-rc));
			break;
		}
		if (query_stats_row_decode(frame, (size_t)len, key, sizeof(key),
					   &nil, &count) == 0) {
			if ((rc = stats_add(stats, key, nil, count)) < 0) {
				snprintf(message, message_size, "out of memory");
				break;
			}
			continue;
		}
		kind = query_response_kind(frame, (size_t)len, &end_count,
					   message, message_size);
		if (kind == 0) {
			rc = 0;
			if ((size_t)end_count != stats->count)
				snprintf(message, message_size, "the collector "
					 "counted %lld groups but sent %zu",
					 (long long)end_count, stats->count);
			break;
		}
		if (kind == -1) {
			rc = -EREMOTEIO;
			break;
		}
		snprintf(message, message_size, "the collector sent a frame "
			 "that is neither a group nor an end (is it older than "
			 "this phitrail? stats needs a collector that knows "
			 "op \"stats\")");
		rc = -EBADMSG;
		break;
	}
	free(frame);
	return rc;
}

/* A group read from a store file (--db), cut as the collector cuts keys. */
static int
stats_db_row(void *context, const char *key, int64_t count)
{
	char cut[QUERY_MAX_STRING];

	if (key != NULL) {
		strlcpy(cut, key, sizeof(cut));
		key = cut;
	}
	if (stats_add(context, key != NULL ? key : "", key == NULL, count) < 0) {
		warnx("out of memory");
		return CLI_EXIT_FAILURE;
	}
	return 0;
}

int
cli_stats_fetch(const char *socket_path, const struct query_request *q,
		struct cli_stats *stats)
{
	unsigned char request[QUERY_MAX_REQUEST];
	char message[512] = "";
	long len;
	int fd, rc;

	memset(stats, 0, sizeof(*stats));
	if (cli_store_file != NULL)
		return cli_db_stats(cli_store_file, q, stats_db_row, stats);
	len = query_request_encode(q, request, sizeof(request));
	if (len < 0) {
		warnx("the request is too large to send");
		return CLI_EXIT_FAILURE;
	}
	fd = cli_client_connect(socket_path);
	if (fd < 0) {
		cli_explain_connect_error(socket_path, fd);
		return CLI_EXIT_FAILURE;
	}
	rc = cli_client_send_frame(fd, request, (size_t)len);
	if (rc == 0)
		rc = stats_read_answer(fd, stats, message, sizeof(message));
	else
		snprintf(message, sizeof(message), "sending the request: %s",
			 strerror(-rc));
	close(fd);
	if (rc == -EREMOTEIO) {
		warnx("the collector refused the request: %s", message);
		return CLI_EXIT_FAILURE;
	}
	if (rc < 0) {
		warnx("stats failed: %s", message[0] ? message : strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	if (message[0])
		warnx("warning: %s", message);
	return 0;
}

static int
by_count_then_key(const void *a, const void *b)
{
	const struct cli_stats_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->key == NULL || y->key == NULL)
		return (x->key == NULL) - (y->key == NULL);
	return strcmp(x->key, y->key);
}

static const char *
group_text(const struct stats_by *by, const struct cli_stats_group *g)
{
	return g->key != NULL ? g->key : by->nil_text;
}

static void
write_table(const struct stats_by *by, const struct cli_stats *stats)
{
	size_t width = strlen(by->heading), count_width = strlen("RECORDS");
	char number[32];

	for (size_t i = 0; i < stats->count; i++) {
		char *shown = cli_printable_dup(group_text(by, &stats->groups[i]));
		size_t w = shown ? cli_display_width(shown) : 0;

		if (w > width)
			width = w;
		free(shown);
	}
	snprintf(number, sizeof(number), "%lld", (long long)stats->total);
	if (strlen(number) > count_width)
		count_width = strlen(number);
	printf("%-*s  %*s\n", (int)width, by->heading, (int)count_width, "RECORDS");
	for (size_t i = 0; i < stats->count; i++) {
		char *shown = cli_printable_dup(group_text(by, &stats->groups[i]));
		size_t w = shown ? cli_display_width(shown) : 0;

		printf("%s%*s  %*lld\n", shown ? shown : "?",
		       (int)(width - (w < width ? w : width)), "",
		       (int)count_width, (long long)stats->groups[i].count);
		free(shown);
	}
	printf("%-*s  %*lld\n", (int)width, "total", (int)count_width,
	       (long long)stats->total);
	printf("%zu %s%s\n", stats->count,
	       stats->count == 1 ? "group" : "groups",
	       stats->count == 0 ? " (no record matched)" : "");
}

static void
write_json(const struct stats_by *by, const struct cli_stats *stats)
{
	printf("{\"by\":\"%s\",\"total\":%lld,\"groups\":[", by->name,
	       (long long)stats->total);
	for (size_t i = 0; i < stats->count; i++) {
		printf("%s{\"key\":", i ? "," : "");
		if (stats->groups[i].key == NULL)
			fputs("null", stdout);
		else
			cli_json_string(stdout, stats->groups[i].key);
		printf(",\"count\":%lld}", (long long)stats->groups[i].count);
	}
	printf("]}\n");
}

static void
write_csv(const struct stats_by *by, const struct cli_stats *stats)
{
	printf("%s,count\r\n", by->name);
	for (size_t i = 0; i < stats->count; i++) {
		cli_csv_field(stdout, stats->groups[i].key ?
			      stats->groups[i].key : "");
		printf(",%lld\r\n", (long long)stats->groups[i].count);
	}
}

static const struct stats_writer {
	const char *name;
	void (*write)(const struct stats_by *by, const struct cli_stats *stats);
} stats_writers[] = {
	{ "table", write_table },
	{ "json", write_json },
	{ "csv", write_csv },
};

/* The options of stats besides the filters (options.h). */
struct stats_settings {
	const char *config_path;
	const struct stats_by *by;
	const struct stats_writer *writer;
};

static int
option_help(void *context, const char *arg)
{
	stats_usage(stdout);
	return CLI_OPTIONS_HELP;
}

static int
option_config(void *context, const char *arg)
{
	struct stats_settings *o = context;

	o->config_path = arg;
	return 0;
}

static int
option_by(void *context, const char *arg)
{
	struct stats_settings *o = context;

	o->by = stats_by_find(arg);
	if (o->by == NULL)
		return cli_usage_error("stats", "--by takes actor, patient, "
				       "event, exe, hour or day, not '%s'", arg);
	return 0;
}

static int
option_format(void *context, const char *arg)
{
	struct stats_settings *o = context;

	o->writer = NULL;
	for (size_t i = 0; i < sizeof(stats_writers) / sizeof(stats_writers[0]);
	     i++)
		if (strcmp(stats_writers[i].name, arg) == 0)
			o->writer = &stats_writers[i];
	if (o->writer == NULL)
		return cli_usage_error("stats", "no output format '%s' (table, "
				       "json, csv)", arg);
	return 0;
}

static const struct cli_option_handler stats_handlers[] = {
	{ STATS_HELP, option_help },
	{ STATS_CONFIG, option_config },
	{ STATS_BY, option_by },
	{ STATS_FORMAT, option_format },
};

static const struct cli_option_table stats_option_table = {
	.verb = "stats",
	.short_options = ":c:h",
	.long_options = stats_options,
	.handlers = stats_handlers,
	.handler_count = sizeof(stats_handlers) / sizeof(stats_handlers[0]),
};

int
cli_stats_main(int argc, char **argv)
{
	struct query_request q;
	struct cli_stats stats;
	struct config *cfg = NULL;
	struct stats_settings o = {
		.by = stats_by_find("event"), .writer = &stats_writers[0],
	};
	int rc;

	query_request_init(&q);
	q.op = QUERY_OP_STATS;
	rc = cli_options_parse(&stats_option_table, argc, argv, &o, &q);
	if (rc != 0)
		return rc == CLI_OPTIONS_HELP ? CLI_EXIT_OK : rc;
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s' (group "
				       "with --by %s; filters are options such "
				       "as --patient ID)", argv[optind],
				       argv[optind]);
	if ((rc = cli_filter_check("stats", &q)) != 0)
		return rc;
	strlcpy(q.by, o.by->name, sizeof(q.by));
	if ((rc = cli_config_for_settings(o.config_path, &cfg)) != 0)
		return rc;
	rc = cli_stats_fetch(cfg->query_socket_path, &q, &stats);
	free(cfg);
	if (rc != 0)
		return rc;
	if (!o.by->chronological && stats.count > 1)
		qsort(stats.groups, stats.count, sizeof(stats.groups[0]),
		      by_count_then_key);
	o.writer->write(o.by, &stats);
	cli_stats_free(&stats);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("writing the output");
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}
