/*
 * report.c - the "report" verb: answers for people.
 *   report patient ID   every access to one patient's data, grouped by
 *                       person and program, each group in date order
 *   report actor USER   everything one user touched, grouped by patient
 *   report unusual      explained signals (unusual.c)
 * Records are fetched through the query protocol in pages (--after), so a
 * large period never needs one huge answer; then grouped here and written
 * as text, CSV, JSON or one self-contained HTML page (report_html.c).
 *
 * Owns: the report's options (one table of handlers), and its shape
 * (groups, their order, the summary); the writers are report_writers.c's.
 * Must never: read the store directly, or leave out a matching record (a
 * report that is cut says so and fails).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "cli.h"
#include "client.h"
#include "filters.h"
#include "options.h"
#include "report.h"
#include "timefmt.h"

#define REPORT_PAGE 5000                 /* records per request */
#define REPORT_UNUSUAL_DEFAULT_DAYS 30

enum report_option {
	REPORT_CONFIG = 'c', REPORT_HELP = 'h', REPORT_OUTPUT = 'o',
	REPORT_FORMAT = CLI_FILTER_END, REPORT_SINCE, REPORT_UNTIL, REPORT_DB,
};

static const struct option report_options[] = {
	{ "config", required_argument, NULL, REPORT_CONFIG },
	{ "help", no_argument, NULL, REPORT_HELP },
	{ "format", required_argument, NULL, REPORT_FORMAT },
	{ "since", required_argument, NULL, REPORT_SINCE },
	{ "until", required_argument, NULL, REPORT_UNTIL },
	{ "output", required_argument, NULL, REPORT_OUTPUT },
	{ "db", required_argument, NULL, REPORT_DB },
	{ NULL, 0, NULL, 0 },
};

static void
report_usage(FILE *stream)
{
	fprintf(stream,
		"usage: phitrail report patient ID [OPTIONS]\n"
		"       phitrail report actor USER [OPTIONS]\n"
		"       phitrail report unusual [OPTIONS]\n\n"
		"patient: every access to one patient's data, grouped by person "
		"and program,\n"
		"         in date order (the accounting of disclosures a patient "
		"may ask for).\n"
		"actor:   everything one user touched, grouped by patient.\n"
		"unusual: explained signals: a user touching many more patients "
		"in a day than\n"
		"         usual (3x their median day and 5 more; with fewer than "
		"3 other\n"
		"         active days: 20 or more), access in an hour (UTC) that "
		"holds under\n"
		"         5%% of a user's accesses (users with 20 or more), one "
		"process reading\n"
		"         10 or more patients' files within 60 s, and failed "
		"attempts.\n"
		"         The period defaults to the last %d days.\n\n"
		"  --since TIME, --until TIME   the period (RFC 3339, a date, or "
		"7d, 2w ago)\n"
		"  --format F        text (default), csv, json or html (one "
		"self-contained page\n"
		"                    with a timeline; no network needed; prints "
		"well)\n"
		"  -o, --output FILE write there instead of standard output\n"
		"  --db FILE         read this store file (an archived audit.db) "
		"directly,\n"
		"                    read-only, instead of asking the collector\n"
		"  --config FILE     the configuration (default $PHITRAIL_CONFIG "
		"or " CONFIG_DEFAULT_PATH ")\n",
		REPORT_UNUSUAL_DEFAULT_DAYS);
}

static char *
dup_or_null(const char *s)
{
	char *copy;

	if (s == NULL)
		return NULL;
	copy = strdup(s);
	if (copy == NULL)
		err(CLI_EXIT_FAILURE, "out of memory");
	return copy;
}

struct fetch {
	struct report *rep;
	size_t capacity;
	int64_t last_id;
};

static int
keep_item(void *context, const struct record *r, const void *bytes, size_t len)
{
	/* --db: the workspace the stored records name, not the config's. */
	static char store_workspace[QUERY_MAX_STRING];
	struct fetch *f = context;
	struct report *rep = f->rep;
	struct report_item *it;

	if (cli_store_file != NULL && rep->workspace == NULL &&
	    r->workspace_id != NULL) {
		strlcpy(store_workspace, r->workspace_id, sizeof(store_workspace));
		rep->workspace = store_workspace;
	}

	if (rep->item_count == f->capacity) {
		size_t capacity = f->capacity ? f->capacity * 2 : 1024;
		it = reallocarray(rep->items, capacity, sizeof(*it));
		if (it == NULL) {
			warnx("out of memory after %zu records", rep->item_count);
			return CLI_EXIT_FAILURE;
		}
		rep->items = it;
		f->capacity = capacity;
	}
	it = &rep->items[rep->item_count++];
	memset(it, 0, sizeof(*it));
	it->id = r->id;
	it->pid = r->pid;
	it->sec = r->timestamp_sec;
	it->nsec = r->timestamp_nsec;
	it->actor = dup_or_null(r->actor_user_id);
	it->patient = dup_or_null(r->end_user_id);
	it->exe = dup_or_null(r->exe);
	it->event = dup_or_null(event_type_name(r->event_type));
	it->target = dup_or_null(r->target);
	it->result = dup_or_null(r->result);
	it->host = dup_or_null(r->host);
	if (r->id > f->last_id)
		f->last_id = r->id;
	return 0;
}

/* Every record matching q, page by page (ids only grow: pages are stable). */
static int
fetch_all(const char *socket_path, struct query_request *q, struct report *rep)
{
	struct fetch f = { .rep = rep, .last_id = 0 };
	int64_t count;
	size_t before;
	int rc;

	q->op = QUERY_OP_QUERY;
	q->limit = REPORT_PAGE;
	q->descending = 0;
	do {
		before = rep->item_count;
		q->after_id = f.last_id > 0 ? f.last_id : QUERY_ABSENT;
		rc = cli_ask_collector(socket_path, q, keep_item, &f, &count, NULL);
		if (rc != 0)
			return rc;
	} while (rep->item_count - before == REPORT_PAGE);
	return 0;
}

int
report_item_time_cmp(const void *a, const void *b)
{
	const struct report_item *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->nsec != y->nsec)
		return x->nsec < y->nsec ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
item_group_cmp(const void *a, const void *b)
{
	const struct report_item *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return report_item_time_cmp(a, b);
}

static int
same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/*
 * Groups items (patient report: by actor and program; actor report: by
 * patient), groups in the order of their first access, each in date order.
 */
static int
make_groups(struct report *rep)
{
	size_t i, g, capacity = 0;

	if (rep->item_count == 0)
		return 0;
	qsort(rep->items, rep->item_count, sizeof(*rep->items),
	      report_item_time_cmp);
	for (i = 0; i < rep->item_count; i++) {
		struct report_item *it = &rep->items[i];
		const char *label = rep->kind == REPORT_PATIENT ? it->actor :
				    it->patient;
		const char *program = rep->kind == REPORT_PATIENT ? it->exe : NULL;

		for (g = 0; g < rep->group_count; g++)
			if (same_text(rep->groups[g].label, label ? label : "") &&
			    (rep->kind != REPORT_PATIENT ||
			     same_text(rep->groups[g].program, program)))
				break;
		if (g == rep->group_count) {
			if (g == capacity) {
				struct report_group *grown;
				capacity = capacity ? capacity * 2 : 16;
				grown = reallocarray(rep->groups, capacity,
						     sizeof(*grown));
				if (grown == NULL)
					return -ENOMEM;
				rep->groups = grown;
			}
			memset(&rep->groups[g], 0, sizeof(rep->groups[g]));
			rep->groups[g].label = label ? label : "";
			rep->groups[g].program = rep->kind == REPORT_PATIENT ?
						 (program ? program : "") : NULL;
			rep->groups[g].first_sec = it->sec;
			rep->group_count++;
		}
		it->group = g;
		rep->groups[g].count++;
		rep->groups[g].last_sec = it->sec;
	}
	qsort(rep->items, rep->item_count, sizeof(*rep->items), item_group_cmp);
	for (i = 0; i < rep->item_count; i++)
		if (i == 0 || rep->items[i - 1].group != rep->items[i].group)
			rep->groups[rep->items[i].group].first = i;
	return 0;
}

static void
report_free(struct report *rep)
{
	for (size_t i = 0; i < rep->item_count; i++) {
		struct report_item *it = &rep->items[i];
		free(it->actor);
		free(it->patient);
		free(it->exe);
		free(it->event);
		free(it->target);
		free(it->result);
		free(it->host);
	}
	free(rep->items);
	free(rep->groups);
	free(rep->findings);
}

static const struct {
	const char *name;
	enum report_kind kind;
	int needs_subject;
} report_kinds[] = {
	{ "patient", REPORT_PATIENT, 1 },
	{ "actor", REPORT_ACTOR, 1 },
	{ "unusual", REPORT_UNUSUAL, 0 },
};

/* What report is asked for: its options, kind and subject. */
struct report_settings {
	struct report rep;
	struct query_request q;
	const struct report_writer *writer;
	const char *config_path, *output_path;
};

static int
option_help(void *context, const char *arg)
{
	report_usage(stdout);
	return CLI_OPTIONS_HELP;
}

static int
option_config(void *context, const char *arg)
{
	struct report_settings *s = context;

	s->config_path = arg;
	return 0;
}

static int
option_output(void *context, const char *arg)
{
	struct report_settings *s = context;

	s->output_path = arg;
	return 0;
}

static int
option_db(void *context, const char *arg)
{
	cli_store_file = arg;
	return 0;
}

static int
option_format(void *context, const char *arg)
{
	struct report_settings *s = context;

	s->writer = report_writer_find(arg);
	if (s->writer == NULL)
		return cli_usage_error("report", "no report format '%s' (text, "
				       "csv, json, html)", arg);
	return 0;
}

static int
option_since(void *context, const char *arg)
{
	struct report_settings *s = context;

	return cli_option_time("report", "since", arg, &s->q.since_ns);
}

static int
option_until(void *context, const char *arg)
{
	struct report_settings *s = context;

	return cli_option_time("report", "until", arg, &s->q.until_ns);
}

static const struct cli_option_handler report_handlers[] = {
	{ REPORT_HELP, option_help },
	{ REPORT_CONFIG, option_config },
	{ REPORT_OUTPUT, option_output },
	{ REPORT_DB, option_db },
	{ REPORT_FORMAT, option_format },
	{ REPORT_SINCE, option_since },
	{ REPORT_UNTIL, option_until },
};

/* getopt_long permutes: options may also follow the kind and subject. */
static const struct cli_option_table report_option_table = {
	.verb = "report",
	.short_options = ":c:ho:",
	.long_options = report_options,
	.handlers = report_handlers,
	.handler_count = sizeof(report_handlers) / sizeof(report_handlers[0]),
};

/*
 * The arguments after the options: the kind of report and its subject
 * ("patient ID", "actor USER", "unusual"). 0 or a usage error.
 */
static int
choose_report(struct report_settings *s, int argc, char **argv)
{
	struct report *rep = &s->rep;
	size_t k;

	if (optind >= argc)
		return cli_usage_error("report", "say which report: patient ID, "
				       "actor USER or unusual");
	for (k = 0; k < sizeof(report_kinds) / sizeof(report_kinds[0]); k++)
		if (strcmp(report_kinds[k].name, argv[optind]) == 0)
			break;
	if (k == sizeof(report_kinds) / sizeof(report_kinds[0]))
		return cli_usage_error("report", "no report called '%s' (patient "
				       "ID, actor USER or unusual)", argv[optind]);
	rep->kind = report_kinds[k].kind;
	if (report_kinds[k].needs_subject) {
		if (optind + 1 >= argc || argv[optind + 1][0] == '\0')
			return cli_usage_error("report", "report %s needs the %s: "
					       "phitrail report %s %s",
					       report_kinds[k].name,
					       rep->kind == REPORT_PATIENT ?
					       "patient's id" : "user's name",
					       report_kinds[k].name,
					       rep->kind == REPORT_PATIENT ? "ID" :
					       "USER");
		rep->subject = argv[optind + 1];
		if (strlen(rep->subject) >= QUERY_MAX_STRING)
			return cli_usage_error("report", "the %s is longer than "
					       "%d bytes", report_kinds[k].name,
					       QUERY_MAX_STRING - 1);
		strlcpy(rep->kind == REPORT_PATIENT ? s->q.patient : s->q.actor,
			rep->subject, QUERY_MAX_STRING);
		optind += 2;
	} else {
		optind += 1;
	}
	if (optind < argc)
		return cli_usage_error("report", "unexpected argument '%s'",
				       argv[optind]);
	return 0;
}

/* Writes the report to --output FILE or stdout. Returns the exit status. */
static int
write_report(const struct report_settings *s)
{
	FILE *out = stdout;
	int rc;

	if (s->output_path != NULL &&
	    (out = fopen(s->output_path, "w")) == NULL) {
		warn("cannot write the report to %s", s->output_path);
		return CLI_EXIT_FAILURE;
	}
	rc = s->writer->write(out, &s->rep) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
	if (fflush(out) != 0 || ferror(out)) {
		warn("writing the report");
		rc = CLI_EXIT_FAILURE;
	}
	if (out != stdout && fclose(out) != 0) {
		warn("closing %s", s->output_path);
		rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

/* Fetches the records and groups them, or finds the unusual ones. */
static int
build_report(const struct config *cfg, struct report_settings *s)
{
	struct report *rep = &s->rep;
	int rc;

	rep->workspace = cli_store_file != NULL ? NULL : cfg->workspace_id;
	rc = fetch_all(cfg->query_socket_path, &s->q, rep);
	if (rc != 0)
		return rc;
	if (rep->kind == REPORT_UNUSUAL)
		rc = unusual_find(rep->items, rep->item_count, &rep->limits,
				  &rep->findings, &rep->finding_count);
	else
		rc = make_groups(rep);
	if (rc < 0) {
		warnx("out of memory for %zu records", rep->item_count);
		return CLI_EXIT_FAILURE;
	}
	return 0;
}

int
cli_report_main(int argc, char **argv)
{
	struct report_settings s;
	struct report *rep = &s.rep;
	struct config *cfg = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	s.writer = report_writer_find("text");
	unusual_limits_default(&rep->limits);
	query_request_init(&s.q);
	rc = cli_options_parse(&report_option_table, argc, argv, &s, NULL);
	if (rc != 0)
		return rc == CLI_OPTIONS_HELP ? CLI_EXIT_OK : rc;
	if ((rc = choose_report(&s, argc, argv)) != 0)
		return rc;
	if (rep->kind == REPORT_UNUSUAL && s.q.since_ns == QUERY_ABSENT)
		s.q.since_ns = cli_now_ns() -
			       (int64_t)REPORT_UNUSUAL_DEFAULT_DAYS * 86400 *
			       CLI_NS_PER_SEC;
	if ((rc = cli_filter_check("report", &s.q)) != 0)
		return rc;
	rep->since_ns = s.q.since_ns;
	rep->until_ns = s.q.until_ns;
	rep->generated_sec = (int64_t)time(NULL);
	if ((rc = cli_config_for_settings(s.config_path, &cfg)) != 0)
		return rc;
	rc = build_report(cfg, &s);
	if (rc == 0)
		rc = write_report(&s);
	report_free(rep);
	free(cfg);
	return rc;
}
