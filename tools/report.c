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
 * Owns: the report's shape (groups, their order, the summary) and the
 * text, CSV and JSON writers. Must never: read the store directly, or
 * leave out a matching record (a report that is cut says so and fails).
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
#include "output.h"
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

const char *
report_time_text(int64_t sec, char *buf, size_t size)
{
	if (cli_time_format_table(sec, buf, size) < 0)
		strlcpy(buf, "(time out of range)", size);
	return buf;
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

static int
item_time_cmp(const void *a, const void *b)
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
	return item_time_cmp(a, b);
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
	qsort(rep->items, rep->item_count, sizeof(*rep->items), item_time_cmp);
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

/* ---- text ----------------------------------------------------------------- */

static const char *
period_text(const struct report *rep, char *buf, size_t size)
{
	char a[CLI_TIME_TEXT_MAX], b[CLI_TIME_TEXT_MAX];

	snprintf(buf, size, "%s to %s",
		 rep->since_ns == QUERY_ABSENT ? "the beginning" :
		 report_time_text(rep->since_ns / CLI_NS_PER_SEC, a, sizeof(a)),
		 rep->until_ns == QUERY_ABSENT ? "now" :
		 report_time_text(rep->until_ns / CLI_NS_PER_SEC, b, sizeof(b)));
	return buf;
}

static const char *
report_title(const struct report *rep)
{
	switch (rep->kind) {
	case REPORT_PATIENT: return "Access report for patient";
	case REPORT_ACTOR: return "Activity report for user";
	case REPORT_UNUSUAL: return "Unusual access";
	}
	return "Report";
}

/* Prints s without control characters (paths are arbitrary bytes). */
static void
put_printable(FILE *out, const char *s)
{
	char *shown = cli_printable_dup(s ? s : "");

	fputs(shown ? shown : "?", out);
	free(shown);
}

static int
write_text(FILE *out, const struct report *rep)
{
	char period[128], when[CLI_TIME_TEXT_MAX], when2[CLI_TIME_TEXT_MAX];

	fprintf(out, "%s", report_title(rep));
	if (rep->subject) {
		fputc(' ', out);
		put_printable(out, rep->subject);
	}
	fprintf(out, "\nWorkspace: ");
	put_printable(out, rep->workspace);
	fprintf(out, "\nPeriod:    %s (UTC)\nGenerated: %s\n",
		period_text(rep, period, sizeof(period)),
		report_time_text(rep->generated_sec, when, sizeof(when)));
	if (rep->kind == REPORT_UNUSUAL) {
		fprintf(out, "Records examined: %zu   Findings: %zu\n\n",
			rep->item_count, rep->finding_count);
		for (size_t i = 0; i < rep->finding_count; i++) {
			const struct unusual_finding *f = &rep->findings[i];
			fprintf(out, "%-14s %s  ", f->signal,
				report_time_text(f->sec, when, sizeof(when)));
			put_printable(out, f->why);
			fputc('\n', out);
		}
		if (rep->finding_count == 0)
			fprintf(out, "Nothing unusual found.\n");
		return 0;
	}
	fprintf(out, "Accesses:  %zu   %s: %zu\n", rep->item_count,
		rep->kind == REPORT_PATIENT ? "People and programs" : "Patients",
		rep->group_count);
	if (rep->item_count == 0)
		fprintf(out, "\nNo access recorded in this period.\n");
	for (size_t g = 0; g < rep->group_count; g++) {
		const struct report_group *grp = &rep->groups[g];

		fputc('\n', out);
		if (rep->kind == REPORT_PATIENT) {
			put_printable(out, grp->label);
			fputs(" using ", out);
			put_printable(out, grp->program[0] ? grp->program :
				      "(unknown program)");
		} else {
			fputs("Patient ", out);
			put_printable(out, grp->label[0] ? grp->label : "(none)");
		}
		fprintf(out, ": %zu access%s, %s to %s\n", grp->count,
			grp->count == 1 ? "" : "es",
			report_time_text(grp->first_sec, when, sizeof(when)),
			report_time_text(grp->last_sec, when2, sizeof(when2)));
		for (size_t i = grp->first; i < grp->first + grp->count; i++) {
			const struct report_item *it = &rep->items[i];
			fprintf(out, "  %s  ",
				report_time_text(it->sec, when, sizeof(when)));
			put_printable(out, it->event ? it->event : "");
			fprintf(out, "%*s ", it->event && strlen(it->event) < 26 ?
				(int)(26 - strlen(it->event)) : 0, "");
			if (rep->kind == REPORT_ACTOR) {
				put_printable(out, it->exe ? it->exe : "?");
				fputc(' ', out);
			}
			put_printable(out, it->target ? it->target : "");
			if (it->result && strcmp(it->result, "ok") != 0) {
				fputs("  [", out);
				put_printable(out, it->result);
				fputc(']', out);
			}
			fputc('\n', out);
		}
	}
	return 0;
}

/* ---- CSV and JSON ---------------------------------------------------------- */

static void
csv_time(FILE *out, int64_t sec, uint32_t nsec)
{
	char t[CLI_TIME_TEXT_MAX];

	if (cli_time_format_rfc3339(sec, nsec, t, sizeof(t)) < 0)
		strlcpy(t, "", sizeof(t));
	fputs(t, out);
}

static int
write_csv(FILE *out, const struct report *rep)
{
	if (rep->kind == REPORT_UNUSUAL) {
		fputs("signal,actor,time,records,why\r\n", out);
		for (size_t i = 0; i < rep->finding_count; i++) {
			const struct unusual_finding *f = &rep->findings[i];
			cli_csv_field(out, f->signal);
			fputc(',', out);
			cli_csv_field(out, f->actor);
			fputc(',', out);
			csv_time(out, f->sec, 0);
			fprintf(out, ",%lld,", (long long)f->records);
			cli_csv_field(out, f->why);
			fputs("\r\n", out);
		}
		return 0;
	}
	fputs(rep->kind == REPORT_PATIENT ?
	      "actor,program,timestamp,event_type,target,result,host,pid,id\r\n" :
	      "patient,program,timestamp,event_type,target,result,host,pid,id\r\n",
	      out);
	for (size_t i = 0; i < rep->item_count; i++) {
		const struct report_item *it = &rep->items[i];
		cli_csv_field(out, rep->kind == REPORT_PATIENT ?
			      (it->actor ? it->actor : "") :
			      (it->patient ? it->patient : ""));
		fputc(',', out);
		cli_csv_field(out, it->exe ? it->exe : "");
		fputc(',', out);
		csv_time(out, it->sec, it->nsec);
		fputc(',', out);
		cli_csv_field(out, it->event ? it->event : "");
		fputc(',', out);
		cli_csv_field(out, it->target ? it->target : "");
		fputc(',', out);
		cli_csv_field(out, it->result ? it->result : "");
		fputc(',', out);
		cli_csv_field(out, it->host ? it->host : "");
		if (it->pid != RECORD_ABSENT)
			fprintf(out, ",%lld,%lld\r\n", (long long)it->pid,
				(long long)it->id);
		else
			fprintf(out, ",,%lld\r\n", (long long)it->id);
	}
	return 0;
}

static void
json_text_or_null(FILE *out, const char *s)
{
	if (s == NULL)
		fputs("null", out);
	else
		cli_json_string(out, s);
}

static void
json_time(FILE *out, int64_t sec, uint32_t nsec)
{
	char t[CLI_TIME_TEXT_MAX];

	if (cli_time_format_rfc3339(sec, nsec, t, sizeof(t)) < 0)
		fputs("null", out);
	else
		fprintf(out, "\"%s\"", t);
}

static int
write_json(FILE *out, const struct report *rep)
{
	static const char *const kinds[] = {
		[REPORT_PATIENT] = "patient", [REPORT_ACTOR] = "actor",
		[REPORT_UNUSUAL] = "unusual",
	};

	fprintf(out, "{\"report\":\"%s\",\"subject\":", kinds[rep->kind]);
	json_text_or_null(out, rep->subject);
	fputs(",\"workspace_id\":", out);
	json_text_or_null(out, rep->workspace);
	fputs(",\"since\":", out);
	if (rep->since_ns == QUERY_ABSENT)
		fputs("null", out);
	else
		json_time(out, rep->since_ns / CLI_NS_PER_SEC,
			  (uint32_t)(rep->since_ns % CLI_NS_PER_SEC));
	fputs(",\"until\":", out);
	if (rep->until_ns == QUERY_ABSENT)
		fputs("null", out);
	else
		json_time(out, rep->until_ns / CLI_NS_PER_SEC,
			  (uint32_t)(rep->until_ns % CLI_NS_PER_SEC));
	fputs(",\"generated\":", out);
	json_time(out, rep->generated_sec, 0);
	fprintf(out, ",\"records\":%zu", rep->item_count);
	if (rep->kind == REPORT_UNUSUAL) {
		fputs(",\"findings\":[", out);
		for (size_t i = 0; i < rep->finding_count; i++) {
			const struct unusual_finding *f = &rep->findings[i];
			fprintf(out, "%s{\"signal\":\"%s\",\"actor\":", i ? "," : "",
				f->signal);
			cli_json_string(out, f->actor);
			fputs(",\"time\":", out);
			json_time(out, f->sec, 0);
			fprintf(out, ",\"records\":%lld,\"why\":", (long long)f->records);
			cli_json_string(out, f->why);
			fputc('}', out);
		}
		fputs("]}\n", out);
		return 0;
	}
	fputs(",\"groups\":[", out);
	for (size_t g = 0; g < rep->group_count; g++) {
		const struct report_group *grp = &rep->groups[g];

		fprintf(out, "%s{\"%s\":", g ? "," : "",
			rep->kind == REPORT_PATIENT ? "actor_user_id" : "end_user_id");
		json_text_or_null(out, rep->kind == REPORT_ACTOR && !grp->label[0] ?
				  NULL : grp->label);
		if (rep->kind == REPORT_PATIENT) {
			fputs(",\"exe\":", out);
			json_text_or_null(out, grp->program[0] ? grp->program : NULL);
		}
		fprintf(out, ",\"count\":%zu,\"first\":", grp->count);
		json_time(out, grp->first_sec, 0);
		fputs(",\"last\":", out);
		json_time(out, grp->last_sec, 0);
		fputs(",\"accesses\":[", out);
		for (size_t i = grp->first; i < grp->first + grp->count; i++) {
			const struct report_item *it = &rep->items[i];
			fprintf(out, "%s{\"id\":%lld,\"timestamp\":",
				i > grp->first ? "," : "", (long long)it->id);
			json_time(out, it->sec, it->nsec);
			fputs(",\"event_type\":", out);
			json_text_or_null(out, it->event);
			if (rep->kind == REPORT_ACTOR) {
				fputs(",\"exe\":", out);
				json_text_or_null(out, it->exe);
			}
			fputs(",\"target\":", out);
			json_text_or_null(out, it->target);
			fputs(",\"result\":", out);
			json_text_or_null(out, it->result);
			fputs(",\"host\":", out);
			json_text_or_null(out, it->host);
			if (it->pid != RECORD_ABSENT)
				fprintf(out, ",\"pid\":%lld", (long long)it->pid);
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs("]}\n", out);
	return 0;
}

static const struct report_writer {
	const char *name;
	int (*write)(FILE *out, const struct report *rep);
} report_writers[] = {
	{ "text", write_text },
	{ "csv", write_csv },
	{ "json", write_json },
	{ "html", report_write_html },
};

static const struct {
	const char *name;
	enum report_kind kind;
	int needs_subject;
} report_kinds[] = {
	{ "patient", REPORT_PATIENT, 1 },
	{ "actor", REPORT_ACTOR, 1 },
	{ "unusual", REPORT_UNUSUAL, 0 },
};

int
cli_report_main(int argc, char **argv)
{
	struct report rep;
	struct query_request q;
	struct config *cfg = NULL;
	const struct report_writer *writer = &report_writers[0];
	const char *config_path = NULL, *output_path = NULL, *why = NULL;
	FILE *out = stdout;
	size_t k;
	int option, rc = 0;

	memset(&rep, 0, sizeof(rep));
	unusual_limits_default(&rep.limits);
	query_request_init(&q);
	optind = 0;
	opterr = 0;
	/* getopt_long permutes: options may also follow the kind and subject. */
	while (rc == 0 && (option = getopt_long(argc, argv, ":c:ho:",
						 report_options, NULL)) != -1) {
		switch (option) {
		case REPORT_HELP:
			report_usage(stdout);
			return CLI_EXIT_OK;
		case REPORT_CONFIG:
			config_path = optarg;
			break;
		case REPORT_OUTPUT:
			output_path = optarg;
			break;
		case REPORT_DB:
			cli_store_file = optarg;
			break;
		case REPORT_FORMAT:
			writer = NULL;
			for (k = 0; k < sizeof(report_writers) /
			     sizeof(report_writers[0]); k++)
				if (strcmp(report_writers[k].name, optarg) == 0)
					writer = &report_writers[k];
			if (writer == NULL)
				rc = cli_usage_error("report", "no report format "
						     "'%s' (text, csv, json, html)",
						     optarg);
			break;
		case REPORT_SINCE:
		case REPORT_UNTIL:
			if (cli_time_parse(optarg, cli_now_ns(), option ==
					   REPORT_SINCE ? &q.since_ns : &q.until_ns,
					   &why) < 0)
				rc = cli_usage_error("report", "--%s '%s': %s",
						     option == REPORT_SINCE ?
						     "since" : "until", optarg, why);
			break;
		default:
			rc = cli_bad_option("report", option, argv);
			break;
		}
	}
	if (rc != 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error("report", "say which report: patient ID, "
				       "actor USER or unusual");
	for (k = 0; k < sizeof(report_kinds) / sizeof(report_kinds[0]); k++)
		if (strcmp(report_kinds[k].name, argv[optind]) == 0)
			break;
	if (k == sizeof(report_kinds) / sizeof(report_kinds[0]))
		return cli_usage_error("report", "no report called '%s' (patient "
				       "ID, actor USER or unusual)", argv[optind]);
	rep.kind = report_kinds[k].kind;
	if (report_kinds[k].needs_subject) {
		if (optind + 1 >= argc || argv[optind + 1][0] == '\0')
			return cli_usage_error("report", "report %s needs the %s: "
					       "phitrail report %s %s",
					       report_kinds[k].name,
					       rep.kind == REPORT_PATIENT ?
					       "patient's id" : "user's name",
					       report_kinds[k].name,
					       rep.kind == REPORT_PATIENT ? "ID" :
					       "USER");
		rep.subject = argv[optind + 1];
		if (strlen(rep.subject) >= QUERY_MAX_STRING)
			return cli_usage_error("report", "the %s is longer than "
					       "%d bytes", report_kinds[k].name,
					       QUERY_MAX_STRING - 1);
		strlcpy(rep.kind == REPORT_PATIENT ? q.patient : q.actor,
			rep.subject, QUERY_MAX_STRING);
		optind += 2;
	} else {
		optind += 1;
	}
	if (optind < argc)
		return cli_usage_error("report", "unexpected argument '%s'",
				       argv[optind]);
	if (rep.kind == REPORT_UNUSUAL && q.since_ns == QUERY_ABSENT)
		q.since_ns = cli_now_ns() - (int64_t)REPORT_UNUSUAL_DEFAULT_DAYS *
			     86400 * CLI_NS_PER_SEC;
	if ((rc = cli_filter_check("report", &q)) != 0)
		return rc;
	rep.since_ns = q.since_ns;
	rep.until_ns = q.until_ns;
	rep.generated_sec = (int64_t)time(NULL);
	if ((rc = cli_config_for_settings(config_path, &cfg)) != 0)
		return rc;
	rep.workspace = cli_store_file != NULL ? NULL : cfg->workspace_id;
	rc = fetch_all(cfg->query_socket_path, &q, &rep);
	if (rc != 0)
		goto out;
	if (rep.kind == REPORT_UNUSUAL)
		rc = unusual_find(rep.items, rep.item_count, &rep.limits,
				  &rep.findings, &rep.finding_count);
	else
		rc = make_groups(&rep);
	if (rc < 0) {
		warnx("out of memory for %zu records", rep.item_count);
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (output_path != NULL && (out = fopen(output_path, "w")) == NULL) {
		warn("cannot write the report to %s", output_path);
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	rc = writer->write(out, &rep) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
	if (fflush(out) != 0 || ferror(out)) {
		warn("writing the report");
		rc = CLI_EXIT_FAILURE;
	}
	if (out != stdout && fclose(out) != 0) {
		warn("closing %s", output_path);
		rc = CLI_EXIT_FAILURE;
	}
out:
	report_free(&rep);
	free(cfg);
	return rc;
}
