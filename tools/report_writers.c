/*
 * report_writers.c - the report as text for people, or as CSV or JSON for
 * programs (the HTML page is report_html.c's), and the table of the four
 * writers --format chooses from.
 *
 * Owns: how each format lays out a report's groups, accesses and
 * findings. Must never: leave out an item or finding it was given, or
 * write a control byte of a record raw (paths are arbitrary bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "output.h"
#include "query.h"
#include "record.h"
#include "report.h"
#include "timefmt.h"

const char *
report_time_text(int64_t sec, char *buf, size_t size)
{
	if (cli_time_format_table(sec, buf, size) < 0)
		strlcpy(buf, "(time out of range)", size);
	return buf;
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

/* ,"key": and the text, or null when there is none. */
static void
json_text_member(FILE *out, const char *key, const char *s)
{
	fprintf(out, ",\"%s\":", key);
	json_text_or_null(out, s);
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

/* A period's end: its time, or null when the period is open there. */
static void
json_time_or_null(FILE *out, int64_t ns)
{
	if (ns == QUERY_ABSENT)
		fputs("null", out);
	else
		json_time(out, ns / CLI_NS_PER_SEC, (uint32_t)(ns % CLI_NS_PER_SEC));
}

/* The members every JSON report opens with, up to "records". */
static void
json_head(FILE *out, const struct report *rep)
{
	static const char *const kinds[] = {
		[REPORT_PATIENT] = "patient", [REPORT_ACTOR] = "actor",
		[REPORT_UNUSUAL] = "unusual",
	};

	fprintf(out, "{\"report\":\"%s\",\"subject\":", kinds[rep->kind]);
	json_text_or_null(out, rep->subject);
	json_text_member(out, "workspace_id", rep->workspace);
	fputs(",\"since\":", out);
	json_time_or_null(out, rep->since_ns);
	fputs(",\"until\":", out);
	json_time_or_null(out, rep->until_ns);
	fputs(",\"generated\":", out);
	json_time(out, rep->generated_sec, 0);
	fprintf(out, ",\"records\":%zu", rep->item_count);
}

static void
json_findings(FILE *out, const struct report *rep)
{
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
}

/* One access of a group, as an object in its "accesses". */
static void
json_access(FILE *out, const struct report *rep, const struct report_item *it,
	    int first)
{
	fprintf(out, "%s{\"id\":%lld,\"timestamp\":", first ? "" : ",",
		(long long)it->id);
	json_time(out, it->sec, it->nsec);
	json_text_member(out, "event_type", it->event);
	if (rep->kind == REPORT_ACTOR)
		json_text_member(out, "exe", it->exe);
	json_text_member(out, "target", it->target);
	json_text_member(out, "result", it->result);
	json_text_member(out, "host", it->host);
	if (it->pid != RECORD_ABSENT)
		fprintf(out, ",\"pid\":%lld", (long long)it->pid);
	fputc('}', out);
}

static void
json_group(FILE *out, const struct report *rep, const struct report_group *grp,
	   int first)
{
	fprintf(out, "%s{\"%s\":", first ? "" : ",",
		rep->kind == REPORT_PATIENT ? "actor_user_id" : "end_user_id");
	json_text_or_null(out, rep->kind == REPORT_ACTOR && !grp->label[0] ?
			  NULL : grp->label);
	if (rep->kind == REPORT_PATIENT)
		json_text_member(out, "exe", grp->program[0] ? grp->program : NULL);
	fprintf(out, ",\"count\":%zu,\"first\":", grp->count);
	json_time(out, grp->first_sec, 0);
	fputs(",\"last\":", out);
	json_time(out, grp->last_sec, 0);
	fputs(",\"accesses\":[", out);
	for (size_t i = grp->first; i < grp->first + grp->count; i++)
		json_access(out, rep, &rep->items[i], i == grp->first);
	fputs("]}", out);
}

static int
write_json(FILE *out, const struct report *rep)
{
	json_head(out, rep);
	if (rep->kind == REPORT_UNUSUAL) {
		json_findings(out, rep);
		fputs("]}\n", out);
		return 0;
	}
	fputs(",\"groups\":[", out);
	for (size_t g = 0; g < rep->group_count; g++)
		json_group(out, rep, &rep->groups[g], g == 0);
	fputs("]}\n", out);
	return 0;
}

static const struct report_writer report_writers[] = {
	{ "text", write_text },
	{ "csv", write_csv },
	{ "json", write_json },
	{ "html", report_write_html },
};

const struct report_writer *
report_writer_find(const char *name)
{
	for (size_t i = 0; i < sizeof(report_writers) / sizeof(report_writers[0]);
	     i++)
		if (strcmp(report_writers[i].name, name) == 0)
			return &report_writers[i];
	return NULL;
}
