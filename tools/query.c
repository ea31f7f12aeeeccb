/*
 * query.c - the "query" and "tail" verbs: turn their options into a
 * query_request (common/protocol/query.h; the filter options are
 * filters.c's), ask the collector over its query socket (ask.c), and print
 * the answer with one of the output formats. "tail" prints the newest
 * matching records and then asks every 250 ms for records after the last
 * id it has seen, until SIGINT or SIGTERM.
 *
 * Owns: the options of query and tail (--limit, --after, --order, --count,
 * --format, -n) as one table of handlers, and the printing of records as
 * they arrive.
 * Must never: read the store or any collector file directly; everything
 * goes through the query protocol, or with --db FILE through dbfile.c.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "filters.h"
#include "options.h"
#include "output.h"
#include "record.h"

#define TAIL_DEFAULT_LINES 10
#define TAIL_POLL_MS 250
#define TAIL_BATCH_LIMIT 1000

/* --format msgpack: records written as their stored bytes. */
static int output_msgpack;

enum option_id {
	OPTION_CONFIG = 'c', OPTION_HELP = 'h', OPTION_LINES = 'n',
	OPTION_LIMIT = CLI_FILTER_END, OPTION_AFTER, OPTION_DESC, OPTION_ORDER,
	OPTION_COUNT, OPTION_FORMAT,
};

static const struct option query_options[] = {
	{ "config", required_argument, NULL, OPTION_CONFIG },
	{ "help", no_argument, NULL, OPTION_HELP },
	CLI_FILTER_LONG_OPTIONS,
	{ "limit", required_argument, NULL, OPTION_LIMIT },
	{ "after", required_argument, NULL, OPTION_AFTER },
	{ "desc", no_argument, NULL, OPTION_DESC },
	{ "order", required_argument, NULL, OPTION_ORDER },
	{ "count", no_argument, NULL, OPTION_COUNT },
	{ "format", required_argument, NULL, OPTION_FORMAT },
	{ "lines", required_argument, NULL, OPTION_LINES },
	{ NULL, 0, NULL, 0 },
};

struct query_options {
	const char *verb;                /* "query" or "tail" */
	int tail;
	struct query_request request;
	const char *config_path;
	const struct cli_output_format *format;
	int count_only;
	long long lines;                 /* tail: how many to show first */
};

static void
query_usage(FILE *stream)
{
	fprintf(stream, "usage: phitrail query [FILTERS] [--limit N] [--after ID] "
		"[--desc] [--count] [--format F]\n\n"
		"Prints the audit records that match every filter given, oldest "
		"first.\n\n%s"
		"  --format F        table (default), json (one object per line), "
		"csv, fhir\n"
		"                    (a FHIR R4 Bundle of AuditEvent resources), "
		"or\n"
		"                    msgpack (each record's exact stored bytes, "
		"concatenated)\n"
		"  --limit N         at most N records\n"
		"  --after ID        records after id ID (paging; with --desc: "
		"before)\n"
		"  --desc            newest first (same as --order desc; default "
		"--order asc)\n"
		"  --count           print only the number of matching records\n\n"
		"Paging: repeat with --after set to the last id printed; ids only "
		"grow, so\nrecords stored meanwhile never shift a page.\n",
		cli_filter_help);
}

static void
tail_usage(FILE *stream)
{
	fprintf(stream, "usage: phitrail tail [FILTERS] [-n N] [--format F]\n\n"
		"Prints the newest matching records (10, or -n N), then each new "
		"one as it\narrives, until interrupted.\n\n%s"
		"  --format F        table (default), json, csv or msgpack\n"
		"  -n, --lines N     how many records to show first (default 10)\n",
		cli_filter_help);
}

/* What one option does to the options of query or tail (options.h). */
static int
option_help(void *context, const char *arg)
{
	struct query_options *o = context;

	(o->tail ? tail_usage : query_usage)(stdout);
	return CLI_OPTIONS_HELP;
}

static int
option_config(void *context, const char *arg)
{
	struct query_options *o = context;

	o->config_path = arg;
	return 0;
}

static int
option_format(void *context, const char *arg)
{
	struct query_options *o = context;

	output_msgpack = strcmp(arg, "msgpack") == 0;
	if (output_msgpack)
		return isatty(STDOUT_FILENO) ?
		       cli_usage_error(o->verb, "--format msgpack writes "
				       "binary: redirect it to a file or a "
				       "pipe") : 0;
	o->format = cli_output_find(arg);
	if (o->format == NULL)
		return cli_usage_error(o->verb, "no output format '%s' (%s, "
				       "msgpack)", arg, cli_output_names());
	if (o->tail && strcmp(arg, "fhir") == 0)
		return cli_usage_error(o->verb, "--format fhir writes one "
				       "Bundle, which never ends in tail: use "
				       "query");
	return 0;
}

/* --limit, --after, --desc, --order and --count are query's alone. */
static int
not_for_tail(const struct query_options *o, const char *name)
{
	if (!o->tail)
		return 0;
	return cli_usage_error(o->verb, "--%s is for 'phitrail query'%s", name,
			       strcmp(name, "limit") == 0 ?
			       "; tail takes -n N" : "");
}

/* --limit N or --after ID: a whole number of at least 0 into *field. */
static int
query_number(struct query_options *o, const char *name, const char *arg,
	     int64_t *field)
{
	long long number;
	int rc;

	if ((rc = not_for_tail(o, name)) == 0 &&
	    (rc = cli_option_number(o->verb, name, arg, 0, &number)) == 0)
		*field = number;
	return rc;
}

static int
option_limit(void *context, const char *arg)
{
	struct query_options *o = context;

	return query_number(o, "limit", arg, &o->request.limit);
}

static int
option_after(void *context, const char *arg)
{
	struct query_options *o = context;

	return query_number(o, "after", arg, &o->request.after_id);
}

static int
option_desc(void *context, const char *arg)
{
	struct query_options *o = context;
	int rc;

	if ((rc = not_for_tail(o, "desc")) == 0)
		o->request.descending = 1;
	return rc;
}

static int
option_order(void *context, const char *arg)
{
	struct query_options *o = context;
	int rc;

	if ((rc = not_for_tail(o, "order")) != 0)
		return rc;
	if (strcmp(arg, "asc") == 0)
		o->request.descending = 0;
	else if (strcmp(arg, "desc") == 0)
		o->request.descending = 1;
	else
		return cli_usage_error(o->verb, "--order takes asc (oldest "
				       "first) or desc (newest first), not "
				       "'%s'", arg);
	return 0;
}

static int
option_count(void *context, const char *arg)
{
	struct query_options *o = context;
	int rc;

	if ((rc = not_for_tail(o, "count")) == 0)
		o->count_only = 1;
	return rc;
}

static int
option_lines(void *context, const char *arg)
{
	struct query_options *o = context;

	if (!o->tail)
		return cli_usage_error(o->verb, "-n is for 'phitrail tail'; "
				       "query takes --limit N");
	return cli_option_number(o->verb, "lines", arg, 0, &o->lines);
}

static const struct cli_option_handler query_handlers[] = {
	{ OPTION_HELP, option_help },
	{ OPTION_CONFIG, option_config },
	{ OPTION_FORMAT, option_format },
	{ OPTION_LIMIT, option_limit },
	{ OPTION_AFTER, option_after },
	{ OPTION_DESC, option_desc },
	{ OPTION_ORDER, option_order },
	{ OPTION_COUNT, option_count },
	{ OPTION_LINES, option_lines },
};

/*
 * Parses the options of query or tail. Returns 0, CLI_OPTIONS_HELP after
 * --help, or an exit status.
 */
static int
parse_options(int argc, char **argv, int tail, struct query_options *o)
{
	const struct cli_option_table table = {
		.verb = tail ? "tail" : "query",
		.short_options = ":c:hn:",
		.long_options = query_options,
		.handlers = query_handlers,
		.handler_count = sizeof(query_handlers) /
				 sizeof(query_handlers[0]),
	};
	struct query_request *q = &o->request;
	int rc;

	memset(o, 0, sizeof(*o));
	query_request_init(q);
	q->op = QUERY_OP_QUERY;
	o->verb = table.verb;
	o->tail = tail;
	o->format = cli_output_find("table");
	o->lines = TAIL_DEFAULT_LINES;
	if ((rc = cli_options_parse(&table, argc, argv, o, q)) != 0)
		return rc;
	if (optind < argc)
		return cli_usage_error(o->verb, "unexpected argument '%s' "
				       "(filters are options such as --patient "
				       "ID)", argv[optind]);
	if ((rc = cli_filter_check(o->verb, q)) != 0)
		return rc;
	if (o->count_only)
		q->op = QUERY_OP_COUNT;
	return 0;
}

static size_t
terminal_columns(void)
{
	struct winsize size;

	if (isatty(STDOUT_FILENO) &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
		return size.ws_col;
	return 0;
}

static int
print_record(void *context, const struct record *r, const void *bytes,
	     size_t len)
{
	struct cli_output *out = context;
	int rc;

	if (output_msgpack) {
		/* The stored bytes, exactly: what the store hashed. */
		if (bytes == NULL || fwrite(bytes, 1, len, stdout) != len) {
			warnx("writing the output: %s", strerror(errno));
			return CLI_EXIT_FAILURE;
		}
		out->records++;
		return 0;
	}
	rc = out->format->record(out, r);

	if (rc < 0) {
		warnx("writing the output: %s", strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	return 0;
}

int
cli_query_main(int argc, char **argv)
{
	struct query_options o;
	struct config *cfg = NULL;
	struct cli_output out;
	int64_t count = 0;
	int rc;

	if ((rc = parse_options(argc, argv, 0, &o)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = cli_config_for_settings(o.config_path, &cfg)) != 0)
		return rc;
	cli_output_init(&out, o.format, stdout, terminal_columns());
	out.config = cfg;
	rc = cli_ask_collector(cfg->query_socket_path, &o.request, print_record,
			   &out, &count, NULL);
	if (rc == 0 && o.count_only) {
		printf("%lld\n", (long long)count);
	} else if (rc == 0 && output_msgpack) {
		/* nothing to finish: no header, no count line */
	} else if (rc == 0) {
		if (out.format->finish(&out) < 0)
			rc = CLI_EXIT_FAILURE;
	} else {
		out.format->flush(&out);        /* what did arrive is real */
	}
	cli_output_free(&out);
	free(cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("writing the output");
		rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

/* ---- tail ------------------------------------------------------------- */

static volatile sig_atomic_t tail_stop;

static void
tail_on_signal(int signo)
{
	tail_stop = 1;
}

/* The newest records arrive newest first; they are kept to print oldest first. */
struct tail_first {
	unsigned char **frames;
	size_t *lengths;
	size_t count;
	int64_t last_id;
};

static int
keep_record(void *context, const struct record *r, const void *bytes,
	    size_t len)
{
	struct tail_first *first = context;
	unsigned char *copy = malloc(len);

	if (copy == NULL)
		return CLI_EXIT_FAILURE;
	memcpy(copy, bytes, len);
	first->frames[first->count] = copy;
	first->lengths[first->count++] = len;
	if (r->id != RECORD_ABSENT && r->id > first->last_id)
		first->last_id = r->id;
	return 0;
}

struct tail_follow {
	struct cli_output *out;
	int64_t last_id;
	size_t received;
};

static int
follow_record(void *context, const struct record *r, const void *bytes,
	      size_t len)
{
	struct tail_follow *follow = context;

	follow->received++;
	if (r->id != RECORD_ABSENT && r->id > follow->last_id)
		follow->last_id = r->id;
	return print_record(follow->out, r, bytes, len);
}

static int
newest_id(void *context, const struct record *r, const void *bytes,
	  size_t len)
{
	int64_t *last_id = context;

	if (r->id != RECORD_ABSENT && r->id > *last_id)
		*last_id = r->id;
	return 0;
}

/* Prints the newest o->lines matching records; sets *last_id. */
static int
tail_show_first(const char *socket_path, struct query_options *o,
		struct cli_output *out, int64_t *last_id)
{
	struct query_request q = o->request;
	struct tail_first first = { .last_id = -1 };
	char *arena = NULL;
	int64_t count;
	int rc = 0;

	*last_id = -1;
	if (o->lines > 0) {
		first.frames = calloc((size_t)o->lines, sizeof(*first.frames));
		first.lengths = calloc((size_t)o->lines, sizeof(*first.lengths));
		arena = malloc(RECORD_ARENA_BYTES);
		if (first.frames == NULL || first.lengths == NULL ||
		    arena == NULL) {
			warnx("out of memory for %lld records", o->lines);
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		q.descending = 1;
		q.limit = o->lines;
		rc = cli_ask_collector(socket_path, &q, keep_record, &first, &count,
				   &tail_stop);
		if (rc != 0)
			goto out;
		for (size_t i = first.count; i-- > 0;) {
			struct record r;
			/* Decoded once already by the client: cannot fail. */
			if (record_decode(first.frames[i], first.lengths[i], &r,
					  arena, RECORD_ARENA_BYTES, NULL) == 0 &&
			    (rc = print_record(out, &r, first.frames[i],
					       first.lengths[i])) != 0)
				goto out;
		}
		*last_id = first.last_id;
	}
	if (*last_id < 0) {
		/* Nothing matched yet: follow from the newest record of all. */
		struct query_request newest;
		query_request_init(&newest);
		newest.op = QUERY_OP_QUERY;
		newest.descending = 1;
		newest.limit = 1;
		rc = cli_ask_collector(socket_path, &newest, newest_id, last_id,
				   &count, &tail_stop);
	}
out:
	for (size_t i = 0; i < first.count; i++)
		free(first.frames[i]);
	free(first.frames);
	free(first.lengths);
	free(arena);
	if (rc == 0 && out->format->flush(out) < 0)
		rc = CLI_EXIT_FAILURE;
	return rc;
}

int
cli_tail_main(int argc, char **argv)
{
	struct query_options o;
	struct config *cfg = NULL;
	struct cli_output out;
	struct sigaction action;
	struct tail_follow follow;
	int64_t count;
	int rc;

	if ((rc = parse_options(argc, argv, 1, &o)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = cli_config_for_settings(o.config_path, &cfg)) != 0)
		return rc;

	memset(&action, 0, sizeof(action));
	action.sa_handler = tail_on_signal;     /* no SA_RESTART: wake up */
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);

	cli_output_init(&out, o.format, stdout, terminal_columns());
	follow.out = &out;
	rc = tail_show_first(cfg->query_socket_path, &o, &out, &follow.last_id);
	while (rc == 0 && !tail_stop) {
		struct query_request q = o.request;
		struct timespec pause = {
			.tv_sec = 0, .tv_nsec = TAIL_POLL_MS * 1000000L
		};

		follow.received = 0;
		q.descending = 0;
		q.limit = TAIL_BATCH_LIMIT;
		q.after_id = follow.last_id >= 0 ? follow.last_id : QUERY_ABSENT;
		rc = cli_ask_collector(cfg->query_socket_path, &q, follow_record,
				   &follow, &count, &tail_stop);
		if (rc == 0 && out.format->flush(&out) < 0)
			rc = CLI_EXIT_FAILURE;
		/* A full batch means more are waiting: ask again at once. */
		if (rc == 0 && follow.received < TAIL_BATCH_LIMIT)
			nanosleep(&pause, NULL);
	}
	out.format->flush(&out);
	cli_output_free(&out);
	free(cfg);
	return rc;
}
