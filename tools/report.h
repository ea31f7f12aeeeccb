/*
 * report.h - what the report writers share (report.c fetches and groups,
 * report_writers.c writes text, CSV and JSON, report_html.c the HTML page,
 * unusual.c finds unusual access).
 */
#ifndef PHITRAIL_REPORT_H
#define PHITRAIL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One access, copied out of a record (strings owned; NULL when absent). */
struct report_item {
	int64_t id, pid;
	int64_t sec;                    /* timestamp, UTC */
	uint32_t nsec;
	char *actor, *patient, *exe, *event, *target, *result, *host;
	size_t group;                   /* index into report.groups */
};

/* Accesses that share a person and program (patient report) or a patient. */
struct report_group {
	const char *label;              /* actor, or patient ("" = none) */
	const char *program;            /* exe (patient report), else NULL */
	size_t first, count;            /* items[first .. first+count) */
	int64_t first_sec, last_sec;
};

enum report_kind { REPORT_PATIENT, REPORT_ACTOR, REPORT_UNUSUAL };

/* A finding of "report unusual": who, when, which signal, and why. */
struct unusual_finding {
	const char *signal;             /* "many-patients", "off-hours", ... */
	char actor[128];
	int64_t sec;                    /* when (start of the day/minute/...) */
	int64_t records;                /* accesses behind the finding */
	char why[512];                  /* the explanation, one sentence */
};

/* Thresholds of the signals (defaults in unusual.c, documented in phitrail(1)). */
struct unusual_limits {
	int64_t many_patients_factor;   /* a day's patients >= factor x usual */
	int64_t many_patients_margin;   /* ... and >= usual + margin */
	int64_t many_patients_no_baseline;  /* with no usual yet: this many */
	int64_t baseline_days;          /* other active days needed for a usual */
	int64_t bulk_patients;          /* one process, this many patients ... */
	int64_t bulk_window_sec;        /* ... within this many seconds */
	int64_t hours_min_records;      /* usual hours need this many accesses */
	int64_t hours_min_share_pct;    /* an hour is usual at this share */
};

struct report {
	enum report_kind kind;
	const char *subject;            /* the patient or the actor; NULL */
	const char *workspace;
	int64_t since_ns, until_ns;     /* QUERY_ABSENT when open */
	int64_t generated_sec;
	struct report_item *items;
	size_t item_count;
	struct report_group *groups;
	size_t group_count;
	struct unusual_finding *findings;
	size_t finding_count;
	struct unusual_limits limits;
};

void unusual_limits_default(struct unusual_limits *limits);

/*
 * Finds the unusual accesses among items (any order; item groups are not
 * used). Findings are ordered by time, then actor. Returns 0 or -ENOMEM;
 * free *findings.
 */
int unusual_find(const struct report_item *items, size_t count,
		 const struct unusual_limits *limits,
		 struct unusual_finding **findings, size_t *finding_count);

/* A --format of report: its name and its writer (report_writers.c). */
struct report_writer {
	const char *name;
	int (*write)(FILE *out, const struct report *rep);
};

/* The writer called name ("text", "csv", "json", "html"), or NULL. */
const struct report_writer *report_writer_find(const char *name);

/* The HTML page (report_html.c): one self-contained document. */
int report_write_html(FILE *out, const struct report *rep);

/* qsort order of two report_items: by time, then id (report.c). */
int report_item_time_cmp(const void *a, const void *b);

/* "2026-11-28 14:47:26Z" into buf (CLI_TIME_TEXT_MAX). */
const char *report_time_text(int64_t sec, char *buf, size_t size);

#endif
