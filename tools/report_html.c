/*
 * report_html.c - a report as one self-contained HTML page: inline CSS
 * (with print rules: A4, no broken rows, colours kept), an inline SVG
 * timeline (one lane per group, one mark per access, coloured by event),
 * and the accesses as tables. No script, no font, no image, no link to
 * anything: the page reads the same offline, in a mail, or on paper.
 *
 * Owns: HTML escaping of every value (records hold arbitrary bytes: the
 * text is made printable first, then escaped). Must never: emit a URL or
 * anything the browser would fetch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "query.h"
#include "report.h"
#include "timefmt.h"

#define SVG_WIDTH 1000
#define SVG_LABEL 240               /* left column for the lane names */
#define SVG_LANE 26
#define SVG_TOP 30
#define SVG_MAX_LANES 40            /* more groups: the rest in one lane */

static void
html_text(FILE *out, const char *s)
{
	char *shown = cli_printable_dup(s ? s : "");
	const char *p = shown ? shown : "?";

	for (; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*p, out); break;
		}
	}
	free(shown);
}

/* Event colours: a table, so a new event type needs one line. */
static const struct {
	const char *event;
	const char *colour;
	const char *css;
} event_colours[] = {
	{ "PHI File Viewed", "#1f6fb2", "viewed" },
	{ "PHI File Modified", "#d97a00", "modified" },
	{ "PHI File Created", "#2e8b3e", "created" },
	{ "PHI File Deleted", "#c0392b", "deleted" },
	{ "PHI File Renamed", "#8e44ad", "renamed" },
	{ "PHI File Access Denied", "#7b0000", "denied" },
};

static const char *
event_colour(const char *event)
{
	for (size_t i = 0; i < sizeof(event_colours) / sizeof(event_colours[0]); i++)
		if (event && strcmp(event, event_colours[i].event) == 0)
			return event_colours[i].colour;
	return "#555555";
}

static const char page_style[] =
	"body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
	"color:#1a1a1a;margin:32px auto;max-width:1040px;padding:0 16px}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;"
	"border-bottom:1px solid #ccc;padding-bottom:3px}"
	".meta{color:#444;margin:0 0 16px}.meta td{padding:1px 16px 1px 0}"
	".summary{display:flex;gap:24px;margin:12px 0 20px}"
	".summary div{border:1px solid #ccd;border-radius:6px;padding:8px 14px}"
	".summary b{display:block;font-size:22px}"
	"table.acc{border-collapse:collapse;width:100%;font-size:13px}"
	"table.acc th{text-align:left;background:#eef1f5;padding:4px 6px}"
	"table.acc td{border-top:1px solid #e3e3e3;padding:3px 6px;"
	"vertical-align:top}td.t{white-space:nowrap;font-variant-numeric:"
	"tabular-nums}td.path{word-break:break-all;font-family:monospace}"
	".fail{color:#7b0000;font-weight:bold}.legend span{margin-right:14px}"
	".dot{display:inline-block;width:10px;height:10px;border-radius:5px;"
	"margin-right:4px;vertical-align:middle}"
	".finding{border-left:4px solid #c0392b;padding:6px 10px;margin:8px 0;"
	"background:#fbf3f2}.finding .sig{font-weight:bold}"
	"svg{width:100%;height:auto}footer{margin-top:28px;color:#666;"
	"font-size:12px}"
	"@page{size:A4;margin:14mm}"
	"@media print{body{margin:0;max-width:none;font-size:11px}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"tr,.finding,svg{break-inside:avoid}h2{break-after:avoid}"
	"thead{display:table-header-group}}";

static void
write_time_cell(FILE *out, int64_t sec)
{
	char when[CLI_TIME_TEXT_MAX];

	fprintf(out, "<td class=\"t\">%s</td>",
		report_time_text(sec, when, sizeof(when)));
}

static void
lane_name(FILE *out, const struct report *rep, const struct report_group *g)
{
	if (rep->kind == REPORT_PATIENT) {
		html_text(out, g->label);
		fputs(" \xc2\xb7 ", out);
		{
			const char *base = strrchr(g->program, '/');
			html_text(out, g->program[0] ? (base ? base + 1 :
				  g->program) : "?");
		}
	} else {
		html_text(out, g->label[0] ? g->label : "(no patient)");
	}
}

/* The timeline: lanes of groups over the period, ticks in UTC. */
static void
write_timeline(FILE *out, const struct report *rep)
{
	size_t lanes = rep->group_count < SVG_MAX_LANES ? rep->group_count :
		       SVG_MAX_LANES;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int height = SVG_TOP + (int)lanes * SVG_LANE + 30;
	double span, x;
	char when[CLI_TIME_TEXT_MAX];

	for (size_t i = 0; i < rep->item_count; i++) {
		if (rep->items[i].sec < lo)
			lo = rep->items[i].sec;
		if (rep->items[i].sec > hi)
			hi = rep->items[i].sec;
	}
	if (rep->item_count == 0)
		return;
	if (hi - lo < 60) {            /* everything in one minute: widen */
		lo -= 30;
		hi += 30;
	}
	span = (double)(hi - lo);
	fprintf(out, "<h2>Timeline</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"timeline of "
		"%zu accesses\" id=\"timeline\">\n", SVG_WIDTH, height,
		rep->item_count);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
		"fill=\"#ffffff\"/>\n", SVG_WIDTH, height);
	for (int t = 0; t <= 4; t++) {
		int64_t sec = lo + (int64_t)(span * t / 4);
		x = SVG_LABEL + (SVG_WIDTH - SVG_LABEL - 20) * t / 4.0;
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#d0d4da\"/>", x, SVG_TOP - 6, x,
			height - 24);
		if (t % 2 != 0)
			continue;      /* three labels: they never overlap */
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
			"text-anchor=\"%s\" fill=\"#444\">%s</text>\n", x,
			height - 8, t == 0 ? "start" : t == 4 ? "end" : "middle",
			report_time_text(sec, when, sizeof(when)));
	}
	for (size_t g = 0; g < lanes; g++) {
		int y = SVG_TOP + (int)g * SVG_LANE;
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\"/>", SVG_LABEL, y, SVG_WIDTH - SVG_LABEL - 20,
			SVG_LANE - 4, g % 2 ? "#f6f7f9" : "#eef1f5");
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
			"text-anchor=\"end\" fill=\"#222\">", SVG_LABEL - 8,
			y + SVG_LANE / 2 + 2);
		if (g + 1 == lanes && rep->group_count > lanes)
			fprintf(out, "%zu more", rep->group_count - lanes + 1);
		else
			lane_name(out, rep, &rep->groups[g]);
		fputs("</text>\n", out);
	}
	for (size_t i = 0; i < rep->item_count; i++) {
		const struct report_item *it = &rep->items[i];
		size_t lane = it->group < lanes ? it->group : lanes - 1;
		x = SVG_LABEL + (SVG_WIDTH - SVG_LABEL - 20) *
		    ((double)(it->sec - lo) / span);
		fprintf(out, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%d\" r=\"5\" "
			"fill=\"%s\" fill-opacity=\"0.8\"><title>", x,
			SVG_TOP + (int)lane * SVG_LANE + (SVG_LANE - 4) / 2,
			event_colour(it->event));
		html_text(out, report_time_text(it->sec, when, sizeof(when)));
		fputc(' ', out);
		html_text(out, it->event);
		fputs("</title></circle>\n", out);
	}
	fputs("</svg>\n<p class=\"legend\">", out);
	for (size_t i = 0; i < sizeof(event_colours) / sizeof(event_colours[0]); i++)
		fprintf(out, "<span><i class=\"dot\" style=\"background:%s\"></i>%s"
			"</span>", event_colours[i].colour, event_colours[i].event);
	fputs("<span><i class=\"dot\" style=\"background:#555555\"></i>other"
	      "</span></p>\n", out);
}

static void
write_groups(FILE *out, const struct report *rep)
{
	for (size_t g = 0; g < rep->group_count; g++) {
		const struct report_group *grp = &rep->groups[g];

		fprintf(out, "<section class=\"group\" id=\"group-%zu\"><h2>", g + 1);
		if (rep->kind == REPORT_PATIENT) {
			html_text(out, grp->label);
			fputs(" using <code>", out);
			html_text(out, grp->program[0] ? grp->program :
				  "(unknown program)");
			fputs("</code>", out);
		} else {
			fputs("Patient ", out);
			html_text(out, grp->label[0] ? grp->label : "(none)");
		}
		fprintf(out, " &mdash; %zu access%s</h2>\n<table class=\"acc\">"
			"<thead><tr><th>Time (UTC)</th><th>Event</th>%s"
			"<th>Target</th><th>Result</th><th>Host / pid</th>"
			"</tr></thead><tbody>\n", grp->count,
			grp->count == 1 ? "" : "es",
			rep->kind == REPORT_ACTOR ? "<th>Program</th>" : "");
		for (size_t i = grp->first; i < grp->first + grp->count; i++) {
			const struct report_item *it = &rep->items[i];
			int failed = it->result && strcmp(it->result, "ok") != 0;

			fputs("<tr>", out);
			write_time_cell(out, it->sec);
			fprintf(out, "<td><i class=\"dot\" style=\"background:%s\">"
				"</i>", event_colour(it->event));
			html_text(out, it->event);
			fputs("</td>", out);
			if (rep->kind == REPORT_ACTOR) {
				fputs("<td class=\"path\">", out);
				html_text(out, it->exe);
				fputs("</td>", out);
			}
			fputs("<td class=\"path\">", out);
			html_text(out, it->target);
			fprintf(out, "</td><td%s>", failed ? " class=\"fail\"" : "");
			html_text(out, it->result ? it->result : "");
			fputs("</td><td>", out);
			html_text(out, it->host);
			if (it->pid != RECORD_ABSENT)
				fprintf(out, " / %lld", (long long)it->pid);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table></section>\n", out);
	}
}

static void
write_findings(FILE *out, const struct report *rep)
{
	char when[CLI_TIME_TEXT_MAX];

	fprintf(out, "<h2>Findings</h2>\n");
	if (rep->finding_count == 0)
		fputs("<p id=\"nothing\">Nothing unusual found.</p>\n", out);
	for (size_t i = 0; i < rep->finding_count; i++) {
		const struct unusual_finding *f = &rep->findings[i];
		fprintf(out, "<div class=\"finding\" data-signal=\"%s\">"
			"<span class=\"sig\">%s</span> &middot; %s &middot; ",
			f->signal, f->signal,
			report_time_text(f->sec, when, sizeof(when)));
		html_text(out, f->actor);
		fputs("<br>", out);
		html_text(out, f->why);
		fputs("</div>\n", out);
	}
}

int
report_write_html(FILE *out, const struct report *rep)
{
	static const char *const titles[] = {
		[REPORT_PATIENT] = "Access report for patient",
		[REPORT_ACTOR] = "Activity report for user",
		[REPORT_UNUSUAL] = "Unusual access",
	};
	char when[CLI_TIME_TEXT_MAX], since[CLI_TIME_TEXT_MAX];

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\">"
	      "<title>", out);
	html_text(out, titles[rep->kind]);
	if (rep->subject) {
		fputc(' ', out);
		html_text(out, rep->subject);
	}
	fprintf(out, "</title><style>%s</style></head><body>\n<h1>", page_style);
	html_text(out, titles[rep->kind]);
	if (rep->subject) {
		fputs(" <span id=\"subject\">", out);
		html_text(out, rep->subject);
		fputs("</span>", out);
	}
	fputs("</h1>\n<table class=\"meta\"><tr><td>Workspace</td><td>", out);
	html_text(out, rep->workspace);
	fprintf(out, "</td></tr><tr><td>Period (UTC)</td><td>%s to %s</td></tr>"
		"<tr><td>Generated</td><td>%s</td></tr></table>\n",
		rep->since_ns == QUERY_ABSENT ? "the beginning" :
		report_time_text(rep->since_ns / CLI_NS_PER_SEC, since, sizeof(since)),
		rep->until_ns == QUERY_ABSENT ? "now" :
		report_time_text(rep->until_ns / CLI_NS_PER_SEC, when, sizeof(when)),
		report_time_text(rep->generated_sec, when, sizeof(when)));
	if (rep->kind == REPORT_UNUSUAL) {
		fprintf(out, "<div class=\"summary\"><div><b id=\"records\">%zu</b>"
			"records examined</div><div><b id=\"findings\">%zu</b>"
			"findings</div></div>\n", rep->item_count,
			rep->finding_count);
		write_findings(out, rep);
	} else {
		fprintf(out, "<div class=\"summary\"><div><b id=\"accesses\">%zu</b>"
			"accesses</div><div><b id=\"groups\">%zu</b>%s</div></div>\n",
			rep->item_count, rep->group_count,
			rep->kind == REPORT_PATIENT ? "people and programs" :
			"patients");
		if (rep->item_count == 0)
			fputs("<p>No access recorded in this period.</p>\n", out);
		write_timeline(out, rep);
		write_groups(out, rep);
	}
	fputs("<footer>phitrail audit trail. Times are UTC. Every access "
	      "listed was recorded by phitrail as it happened; this page "
	      "needs no network.</footer>\n</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
