/*
 * query.c - the "query" and "tail" verbs: turn filter options into a
 * query_request (common/protocol/query.h), ask the collector over its query socket,
 * and print the answer with one of the output formats. "tail" prints the
 * newest matching records and then asks every 250 ms for records after the
 * last id it has seen, until SIGINT or SIGTERM.
 *
 * Owns: the filter options and their checks (times, event names and
 * aliases, numbers, lengths), and what the user is told when the collector
 * cannot be reached or refuses.
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
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "client.h"
#include "filters.h"
#include "output.h"
#include "record.h"
#include "timefmt.h"

#define TAIL_DEFAULT_LINES 10
#define TAIL_POLL_MS 250
#define TAIL_BATCH_LIMIT 1000

/* --format msgpack: records written as their stored bytes. */
static int output_msgpack;

/* Short names for --event; the full names are record.h's. */
static const struct event_alias {
	const char *alias;
	enum event_type type;
} event_aliases[] = {
	{ "viewed", EVENT_FILE_VIEWED },
	{ "modified", EVENT_FILE_MODIFIED },
	{ "created", EVENT_FILE_CREATED },
	{ "deleted", EVENT_FILE_DELETED },
	{ "renamed", EVENT_FILE_RENAMED },
	{ "denied", EVENT_FILE_ACCESS_DENIED },
	{ "permissions", EVENT_FILE_PERMISSIONS_CHANGED },
	{ "listed", EVENT_DIRECTORY_LISTED },
	{ "opened", EVENT_CONNECTION_OPENED },
	{ "accepted", EVENT_CONNECTION_ACCEPTED },
	{ "sent", EVENT_MESSAGE_SENT },
	{ "received", EVENT_MESSAGE_RECEIVED },
	{ "lost", EVENT_RECORDS_LOST },
	{ "tampered", EVENT_SPOOL_TAMPERED },
	{ "stalled", EVENT_FORWARDING_STALLED },
	{ "started", EVENT_COLLECTOR_STARTED },
	{ "stopped", EVENT_COLLECTOR_STOPPED },
	{ "queried", EVENT_TRAIL_QUERIED },
};

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

const char cli_filter_help[] =
	"  --config FILE     the configuration (default $PHITRAIL_CONFIG or "
	CONFIG_DEFAULT_PATH ")\n"
	"  --patient ID      records about this patient (end_user_id)\n"
	"  --actor USER      records of this person (actor_user_id)\n"
	"  --event TYPE      this event type; repeat or separate with ',' for "
	"several.\n"
	"                    Full names (\"PHI File Viewed\") or viewed, modified, "
	"created,\n"
	"                    deleted, renamed, denied, permissions, listed, "
	"opened, accepted,\n"
	"                    sent, received, lost, tampered, started, stopped, "
	"queried\n"
	"  --since TIME      at or after TIME; --until TIME: before TIME. TIME is "
	"RFC 3339\n"
	"                    (2026-11-28T14:47:26Z, 2026-11-28T09:47:26.5-05:00), "
	"a date\n"
	"                    (2026-11-28, midnight UTC), that long ago (90s, "
	"15m, 2h, 7d, 2w),\n"
	"                    today, yesterday, this-week, this-month, this-year, "
	"recent (10 min)\n"
	"                    or a local time in a zone (2026-12-04 09:00 "
	"Europe/Berlin, ... local)\n"
	"  --target GLOB     the path or address matches GLOB (*, **, {name})\n"
	"  --host H, --pid N, --exe PATH, --rule NAME, --result R (ok, EACCES, "
	"...)\n"
	"  --failed          only failed attempts (result not ok)\n"
	"  --db FILE         read this store file (an archived audit.db) "
	"directly,\n"
	"                    read-only, instead of asking the collector\n";

struct query_options {
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

static int
add_event(const char *verb, struct query_request *q, const char *name)
{
	enum event_type type = event_type_from_name(name);

	for (size_t i = 0; type == EVENT_NONE &&
	     i < sizeof(event_aliases) / sizeof(event_aliases[0]); i++)
		if (strcasecmp(event_aliases[i].alias, name) == 0)
			type = event_aliases[i].type;
	for (int t = EVENT_NONE + 1; type == EVENT_NONE && t < EVENT_COUNT; t++) {
		const char *full = event_type_name((enum event_type)t);
		if (full && strcasecmp(full, name) == 0)
			type = (enum event_type)t;
	}
	if (type == EVENT_NONE || event_type_name(type) == NULL)
		return cli_usage_error(verb, "unknown event type '%s' (a full "
				       "name such as \"PHI File Viewed\", or "
				       "viewed, modified, created, deleted, ...)",
				       name);
	if (q->event_count == QUERY_MAX_EVENTS)
		return cli_usage_error(verb, "at most %d event types",
				       QUERY_MAX_EVENTS);
	if (strlcpy(q->events[q->event_count], event_type_name(type),
		    sizeof(q->events[0])) >= sizeof(q->events[0]))
		return cli_usage_error(verb, "event type name too long");
	q->event_count++;
	return 0;
}

static int
add_events(const char *verb, struct query_request *q, const char *list)
{
	char *copy = strdup(list), *cursor = copy, *name;
	int rc = 0;

	if (copy == NULL)
		err(CLI_EXIT_FAILURE, "strdup");
	while (rc == 0 && (name = strsep(&cursor, ",")) != NULL) {
		while (*name == ' ')
			name++;
		if (*name == '\0')
			continue;
		rc = add_event(verb, q, name);
	}
	free(copy);
	return rc;
}

static int
copy_filter(const char *verb, const char *option, char *field,
	    const char *value)
{
	if (*value == '\0')
		return cli_usage_error(verb, "--%s needs a non-empty value",
				       option);
	if (strlcpy(field, value, QUERY_MAX_STRING) >= QUERY_MAX_STRING)
		return cli_usage_error(verb, "--%s is longer than %d bytes",
				       option, QUERY_MAX_STRING - 1);
	return 0;
}

static int
parse_number(const char *verb, const char *option, const char *text,
	     long long min, long long *out)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min)
		return cli_usage_error(verb, "--%s needs a whole number of at "
				       "least %lld, not '%s'", option, min, text);
	*out = value;
	return 0;
}

static int
parse_time(const char *verb, const char *option, const char *text,
	   int64_t *out)
{
	const char *why = NULL;

	if (cli_time_parse(text, cli_now_ns(), out, &why) < 0)
		return cli_usage_error(verb, "--%s '%s': %s", option, text, why);
	return 0;
}

int
cli_filter_apply(const char *verb, int option, const char *arg,
		 struct query_request *q)
{
	static const struct {
		int option;
		const char *name;
		size_t offset;
	} text_filters[] = {
		{ CLI_FILTER_PATIENT, "patient", offsetof(struct query_request, patient) },
		{ CLI_FILTER_ACTOR, "actor", offsetof(struct query_request, actor) },
		{ CLI_FILTER_TARGET, "target", offsetof(struct query_request, target) },
		{ CLI_FILTER_HOST, "host", offsetof(struct query_request, host) },
		{ CLI_FILTER_EXE, "exe", offsetof(struct query_request, exe) },
		{ CLI_FILTER_RULE, "rule", offsetof(struct query_request, rule) },
		{ CLI_FILTER_RESULT, "result", offsetof(struct query_request, result) },
	};
	long long number;
	int rc;

	for (size_t i = 0; i < sizeof(text_filters) / sizeof(text_filters[0]); i++)
		if (text_filters[i].option == option) {
			rc = copy_filter(verb, text_filters[i].name,
					 (char *)q + text_filters[i].offset, arg);
			return rc == 0 ? 1 : rc;
		}
	switch (option) {
	case CLI_FILTER_DB:
		cli_store_file = arg;
		rc = 0;
		break;
	case CLI_FILTER_EVENT:
		rc = add_events(verb, q, arg);
		break;
	case CLI_FILTER_SINCE:
		rc = parse_time(verb, "since", arg, &q->since_ns);
		break;
	case CLI_FILTER_UNTIL:
		rc = parse_time(verb, "until", arg, &q->until_ns);
		break;
	case CLI_FILTER_PID:
		if ((rc = parse_number(verb, "pid", arg, 1, &number)) == 0)
			q->pid = number;
		break;
	case CLI_FILTER_FAILED:
		q->failed_only = 1;
		rc = 0;
		break;
	default:
		return 0;
	}
	return rc == 0 ? 1 : rc;
}

int
cli_filter_check(const char *verb, const struct query_request *q)
{
	if (q->since_ns != QUERY_ABSENT && q->until_ns != QUERY_ABSENT &&
	    q->since_ns >= q->until_ns)
		return cli_usage_error(verb, "--since must be before --until");
	return 0;
}

/* Parses the options of query or tail. Returns 0 or an exit status. */
static int
parse_options(int argc, char **argv, int tail, struct query_options *o)
{
	const char *verb = tail ? "tail" : "query";
	struct query_request *q = &o->request;
	long long number;
	int option, rc = 0;

	memset(o, 0, sizeof(*o));
	query_request_init(q);
	q->op = QUERY_OP_QUERY;
	o->format = cli_output_find("table");
	o->lines = TAIL_DEFAULT_LINES;
	optind = 0;
	opterr = 0;
	while (rc == 0 && (option = getopt_long(argc, argv, ":c:hn:",
						 query_options, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *p = query_options; p->name; p++)
			if (p->val == option)
				name = p->name;
		switch (option) {
		case OPTION_HELP:
			(tail ? tail_usage : query_usage)(stdout);
			return -1;
		case OPTION_CONFIG:
			o->config_path = optarg;
			break;
		case OPTION_FORMAT:
			output_msgpack = strcmp(optarg, "msgpack") == 0;
			if (output_msgpack) {
				if (isatty(STDOUT_FILENO))
					rc = cli_usage_error(verb, "--format msgpack "
							     "writes binary: redirect it "
							     "to a file or a pipe");
				break;
			}
			o->format = cli_output_find(optarg);
			if (o->format == NULL)
				rc = cli_usage_error(verb, "no output format "
						     "'%s' (%s, msgpack)", optarg,
						     cli_output_names());
			else if (tail && strcmp(optarg, "fhir") == 0)
				rc = cli_usage_error(verb, "--format fhir writes one "
						     "Bundle, which never ends in "
						     "tail: use query");
			break;
		case OPTION_LIMIT:
		case OPTION_AFTER:
		case OPTION_DESC:
		case OPTION_ORDER:
		case OPTION_COUNT:
			if (tail) {
				rc = cli_usage_error(verb, "--%s is for 'phitrail "
						     "query'%s", name,
						     option == OPTION_LIMIT ?
						     "; tail takes -n N" : "");
				break;
			}
			if (option == OPTION_LIMIT &&
			    (rc = parse_number(verb, name, optarg, 0, &number)) == 0)
				q->limit = number;
			if (option == OPTION_AFTER &&
			    (rc = parse_number(verb, name, optarg, 0, &number)) == 0)
				q->after_id = number;
			if (option == OPTION_DESC)
				q->descending = 1;
			if (option == OPTION_ORDER) {
				if (strcmp(optarg, "asc") == 0)
					q->descending = 0;
				else if (strcmp(optarg, "desc") == 0)
					q->descending = 1;
				else
					rc = cli_usage_error(verb, "--order takes "
							     "asc (oldest first) or "
							     "desc (newest first), "
							     "not '%s'", optarg);
			}
			if (option == OPTION_COUNT)
				o->count_only = 1;
			break;
		case OPTION_LINES:
			if (!tail) {
				rc = cli_usage_error(verb, "-n is for 'phitrail "
						     "tail'; query takes --limit N");
				break;
			}
			rc = parse_number(verb, "lines", optarg, 0, &o->lines);
			break;
		default:
			rc = cli_filter_apply(verb, option, optarg, q);
			if (rc == 1)
				rc = 0;
			else if (rc == 0)
				rc = cli_bad_option(verb, option, argv);
			break;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return cli_usage_error(verb, "unexpected argument '%s' (filters "
				       "are options such as --patient ID)",
				       argv[optind]);
	if ((rc = cli_filter_check(verb, q)) != 0)
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

/*
 * One exchange with the collector. Returns 0, or an exit status after
 * telling the user what went wrong and what to do.
 */
void
cli_explain_connect_error(const char *socket_path, int error)
{
	if (error == -EACCES || error == -EPERM)
		warnx("cannot reach the collector at %s: %s (querying "
		      "needs root or the configured auditors group)",
		      socket_path, strerror(-error));
	else if (error == -ENOENT || error == -ECONNREFUSED)
		warnx("cannot reach the collector at %s: %s (is phitraild "
		      "running? start it, or give --config FILE of the "
		      "deployment you mean)", socket_path, strerror(-error));
	else
		warnx("cannot reach the collector at %s: %s (is "
		      "phitraild running?)", socket_path, strerror(-error));
}

int
cli_ask_collector(const char *socket_path, const struct query_request *q,
		  cli_record_callback callback, void *context, int64_t *count,
		  const volatile sig_atomic_t *stop)
{
	char message[512];
	int fd, rc;

	if (cli_store_file != NULL)
		return stop && *stop ? 0 :
			cli_db_ask(cli_store_file, q, callback, context, count);
	fd = cli_client_connect(socket_path);
	if (fd < 0) {
		cli_explain_connect_error(socket_path, fd);
		return CLI_EXIT_FAILURE;
	}
	rc = cli_client_exchange(fd, q, callback, context, count, message,
				 sizeof(message));
	close(fd);
	if (rc == -EINTR && stop && *stop)
		return 0;
	if (rc == -EREMOTEIO) {
		warnx("the collector refused the query: %s", message);
		return CLI_EXIT_FAILURE;
	}
	if (rc < 0) {
		warnx("the query failed: %s", message[0] ? message :
		      strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	if (rc > 0)
		return rc;
	if (message[0])
		warnx("warning: %s", message);
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
