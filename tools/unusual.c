/*
 * unusual.c - the signals of "phitrail report unusual", as pure logic over
 * a list of accesses (no I/O), so that each signal is tested with exact
 * inputs. Four signals, each finding with one sentence saying why:
 *   many-patients  a user touched many more patients in one UTC day than
 *                  on their usual day (the median of their other active
 *                  days in the period; with too few days, a fixed count)
 *   off-hours      accesses in an hour of the day (UTC) in which the user
 *                  otherwise almost never works
 *   bulk-read      one process read many patients' files within a minute
 *   denied         attempts that failed (result not "ok")
 * The collector's own records ("Audit ..." events) count only for denied.
 * Must never: print, read the store, or allocate without checking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "report.h"

#define DAY_SEC 86400
#define HOUR_SEC 3600

void
unusual_limits_default(struct unusual_limits *limits)
{
	limits->many_patients_factor = 3;
	limits->many_patients_margin = 5;
	limits->many_patients_no_baseline = 20;
	limits->baseline_days = 3;
	limits->bulk_patients = 10;
	limits->bulk_window_sec = 60;
	limits->hours_min_records = 20;
	limits->hours_min_share_pct = 5;
}

struct finding_list {
	struct unusual_finding *items;
	size_t count, capacity;
	int failed;
};

static struct unusual_finding *
finding_add(struct finding_list *list, const char *signal, const char *actor,
	    int64_t sec, int64_t records)
{
	struct unusual_finding *f;

	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 16;
		f = reallocarray(list->items, capacity, sizeof(*f));
		if (f == NULL) {
			list->failed = 1;
			return NULL;
		}
		list->items = f;
		list->capacity = capacity;
	}
	f = &list->items[list->count++];
	memset(f, 0, sizeof(*f));
	f->signal = signal;
	strlcpy(f->actor, actor ? actor : "(unknown)", sizeof(f->actor));
	f->sec = sec;
	f->records = records;
	return f;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void
day_text(int64_t sec, char *buf, size_t size)
{
	char full[64];

	report_time_text(floor_div(sec, DAY_SEC) * DAY_SEC, full, sizeof(full));
	strlcpy(buf, full, size < 11 ? size : 11);    /* "2026-11-28" */
}

static int
is_collector_event(const struct report_item *it)
{
	return it->event != NULL && strncmp(it->event, "Audit ", 6) == 0;
}

static int
is_failed(const struct report_item *it)
{
	return (it->result != NULL && strcmp(it->result, "ok") != 0) ||
	       (it->event != NULL && strcmp(it->event, "PHI File Access Denied") == 0);
}

static int
str_or_empty_cmp(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* ---- many patients a day ---------------------------------------------- */

/* (actor, day, patient) triples, sorted, give distinct patients per day. */
struct day_patient {
	const char *actor, *patient;
	int64_t day;
};

static int
day_patient_cmp(const void *a, const void *b)
{
	const struct day_patient *x = a, *y = b;
	int c = str_or_empty_cmp(x->actor, y->actor);

	if (c != 0)
		return c;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->patient, y->patient);
}

struct actor_day {
	const char *actor;
	int64_t day, patients, records;
};

static int
int64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Fills days[] with each actor's active days (UTC) and how many distinct
 * patients and records each had, grouped by actor. Returns the count.
 */
static size_t
count_actor_days(const struct report_item *items, size_t count,
		 struct day_patient *dp, struct actor_day *days)
{
	size_t n = 0, nd = 0, i;

	for (i = 0; i < count; i++)
		if (items[i].patient != NULL && !is_collector_event(&items[i])) {
			dp[n].actor = items[i].actor;
			dp[n].patient = items[i].patient;
			dp[n++].day = floor_div(items[i].sec, DAY_SEC);
		}
	qsort(dp, n, sizeof(*dp), day_patient_cmp);
	for (i = 0; i < n; i++) {
		if (nd == 0 || str_or_empty_cmp(days[nd - 1].actor, dp[i].actor) != 0 ||
		    days[nd - 1].day != dp[i].day) {
			days[nd].actor = dp[i].actor;
			days[nd].day = dp[i].day;
			days[nd].patients = 0;
			days[nd++].records = 0;
		}
		days[nd - 1].records++;
		if (i == 0 || day_patient_cmp(&dp[i - 1], &dp[i]) != 0)
			days[nd - 1].patients++;
	}
	return nd;
}

/*
 * One day of an actor (days[k]) against the actor's other days
 * (days[first..end), k among them); others is scratch for their counts.
 */
static void
judge_actor_day(const struct actor_day *days, size_t first, size_t end,
		size_t k, int64_t *others, const struct unusual_limits *lim,
		struct finding_list *out)
{
	size_t m = 0, o;
	int64_t usual, c = days[k].patients;
	char day[16];
	struct unusual_finding *f;

	for (o = first; o < end; o++)
		if (o != k)
			others[m++] = days[o].patients;
	day_text(days[k].day * DAY_SEC, day, sizeof(day));
	if ((int64_t)m >= lim->baseline_days) {
		qsort(others, m, sizeof(*others), int64_cmp);
		usual = m % 2 ? others[m / 2] :
			(others[m / 2 - 1] + others[m / 2]) / 2;
		if (c < lim->many_patients_factor * usual ||
		    c < usual + lim->many_patients_margin)
			return;
		f = finding_add(out, "many-patients", days[k].actor,
				days[k].day * DAY_SEC, days[k].records);
		if (f != NULL)
			snprintf(f->why, sizeof(f->why),
				 "%s touched %lld patients on %s; their usual "
				 "day is %lld (median of %zu other active "
				 "days), and %lld or more times that is flagged",
				 f->actor, (long long)c, day, (long long)usual, m,
				 (long long)lim->many_patients_factor);
	} else if (c >= lim->many_patients_no_baseline) {
		f = finding_add(out, "many-patients", days[k].actor,
				days[k].day * DAY_SEC, days[k].records);
		if (f != NULL)
			snprintf(f->why, sizeof(f->why),
				 "%s touched %lld patients on %s; with fewer "
				 "than %lld other active days there is no usual "
				 "count yet, and %lld or more in a day is flagged",
				 f->actor, (long long)c, day,
				 (long long)lim->baseline_days,
				 (long long)lim->many_patients_no_baseline);
	}
}

static void
find_many_patients(const struct report_item *items, size_t count,
		   const struct unusual_limits *lim, struct finding_list *out)
{
	struct day_patient *dp = calloc(count ? count : 1, sizeof(*dp));
	struct actor_day *days = calloc(count ? count : 1, sizeof(*days));
	int64_t *others = calloc(count ? count : 1, sizeof(*others));
	size_t nd, i, j, k;

	if (dp == NULL || days == NULL || others == NULL) {
		out->failed = 1;
		goto out;
	}
	nd = count_actor_days(items, count, dp, days);
	/* days[] is grouped by actor: each day against the actor's others. */
	for (i = 0; i < nd; i = j) {
		for (j = i; j < nd && str_or_empty_cmp(days[j].actor,
							 days[i].actor) == 0; j++)
			;
		for (k = i; k < j; k++)
			judge_actor_day(days, i, j, k, others, lim, out);
	}
out:
	free(dp);
	free(days);
	free(others);
}

/* ---- outside usual hours ---------------------------------------------- */

static int
item_actor_time_cmp(const void *a, const void *b)
{
	const struct report_item *x = *(const struct report_item *const *)a;
	const struct report_item *y = *(const struct report_item *const *)b;
	int c = str_or_empty_cmp(x->actor, y->actor);

	if (c != 0)
		return c;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* "08:00-17:59" style ranges of the hours marked usual. */
static void
hours_text(const int usual[24], char *buf, size_t size)
{
	char part[32];
	int h = 0, end;

	buf[0] = '\0';
	while (h < 24) {
		if (!usual[h]) {
			h++;
			continue;
		}
		for (end = h; end + 1 < 24 && usual[end + 1]; end++)
			;
		snprintf(part, sizeof(part), "%s%02d:00-%02d:59",
			 buf[0] ? ", " : "", h, end);
		strlcat(buf, part, size);
		h = end + 1;
	}
}

static void
find_off_hours(const struct report_item **sorted, size_t count,
	       const struct unusual_limits *lim, struct finding_list *out)
{
	size_t i, j, k;

	for (i = 0; i < count; i = j) {
		int64_t hours[24] = { 0 }, total = 0;
		int usual[24];
		char ranges[256];

		for (j = i; j < count && str_or_empty_cmp(sorted[j]->actor,
							    sorted[i]->actor) == 0; j++) {
			hours[floor_div(sorted[j]->sec, HOUR_SEC) % 24]++;
			total++;
		}
		if (total < lim->hours_min_records)
			continue;
		for (int h = 0; h < 24; h++)
			usual[h] = hours[h] * 100 >= lim->hours_min_share_pct * total;
		hours_text(usual, ranges, sizeof(ranges));
		/* One finding per actor and clock hour outside the usual ones. */
		for (k = i; k < j;) {
			int64_t slot = floor_div(sorted[k]->sec, HOUR_SEC);
			int hour = (int)(slot % 24);
			size_t m = k;
			struct unusual_finding *f;
			char day[16];
			int64_t usual_share = 0;

			while (m < j && floor_div(sorted[m]->sec, HOUR_SEC) == slot)
				m++;
			if (usual[hour]) {
				k = m;
				continue;
			}
			for (int h = 0; h < 24; h++)
				if (usual[h])
					usual_share += hours[h];
			day_text(slot * HOUR_SEC, day, sizeof(day));
			f = finding_add(out, "off-hours", sorted[k]->actor,
					slot * HOUR_SEC, (int64_t)(m - k));
			if (f != NULL)
				snprintf(f->why, sizeof(f->why),
					 "%s made %zu access%s at %02d:00-%02d:59 UTC "
					 "on %s; %lld%% of their %lld accesses in "
					 "the period were at %s UTC",
					 f->actor, m - k, m - k == 1 ? "" : "es",
					 hour, hour, day,
					 (long long)(usual_share * 100 / total),
					 (long long)total, ranges);
			k = m;
		}
	}
}

/* ---- bulk reads --------------------------------------------------------- */

struct process_read {
	const struct report_item *item;
	size_t patient;                 /* index into the sorted patient names */
};

static int
process_read_cmp(const void *a, const void *b)
{
	const struct report_item *x = ((const struct process_read *)a)->item;
	const struct report_item *y = ((const struct process_read *)b)->item;
	int c = str_or_empty_cmp(x->host, y->host);

	if (c != 0)
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if ((c = str_or_empty_cmp(x->exe, y->exe)) != 0)
		return c;
	return report_item_time_cmp(x, y);
}

static int
string_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
same_process(const struct report_item *x, const struct report_item *y)
{
	return str_or_empty_cmp(x->host, y->host) == 0 && x->pid == y->pid &&
	       str_or_empty_cmp(x->exe, y->exe) == 0;
}

/*
 * Numbers the patients of reads[0..n): reads[i].patient becomes the index
 * of its name in names (sorted; equal names share the first index).
 */
static void
number_patients(struct process_read *reads, size_t n, const char **names,
		size_t names_count)
{
	qsort(names, names_count, sizeof(*names), string_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		const char **hit = bsearch(&reads[i].item->patient, names,
					   names_count, sizeof(*names),
					   string_ptr_cmp);
		/* bsearch may land on any equal name: go to the first. */
		while (hit > names && strcmp(hit[-1], *hit) == 0)
			hit--;
		reads[i].patient = (size_t)(hit - names);
	}
}

/*
 * The most distinct patients one process (reads[first..end), in time
 * order) read within bulk_window_sec, and when that window began.
 * in_window (a count per patient number) is all zero before and after.
 */
static size_t
busiest_window(const struct process_read *reads, size_t first, size_t end,
	       size_t *in_window, const struct unusual_limits *lim,
	       int64_t *best_sec)
{
	size_t distinct = 0, best = 0, lo = first, start;

	*best_sec = 0;
	/* Two pointers over [first, end): distinct patients in the window. */
	for (start = first; start < end; start++) {
		const struct report_item *it = reads[start].item;

		if (in_window[reads[start].patient]++ == 0)
			distinct++;
		while (it->sec - reads[lo].item->sec >= lim->bulk_window_sec) {
			if (--in_window[reads[lo].patient] == 0)
				distinct--;
			lo++;
		}
		if (distinct > best) {
			best = distinct;
			*best_sec = reads[lo].item->sec;
		}
	}
	for (; lo < end; lo++)
		in_window[reads[lo].patient]--;
	return best;
}

static void
add_bulk_read(const struct report_item *it, size_t best, int64_t best_sec,
	      int64_t records, const struct unusual_limits *lim,
	      struct finding_list *out)
{
	struct unusual_finding *f;
	char when[64];

	report_time_text(best_sec, when, sizeof(when));
	f = finding_add(out, "bulk-read", it->actor, best_sec, records);
	if (f != NULL)
		snprintf(f->why, sizeof(f->why),
			 "process %lld (%s) of %s read %zu different patients' "
			 "files within %lld s from %s; %lld or more is flagged "
			 "as a bulk read",
			 (long long)it->pid, it->exe ? it->exe : "unknown program",
			 f->actor, best, (long long)lim->bulk_window_sec, when,
			 (long long)lim->bulk_patients);
}

static void
find_bulk_reads(const struct report_item *items, size_t count,
		const struct unusual_limits *lim, struct finding_list *out)
{
	struct process_read *reads = calloc(count ? count : 1, sizeof(*reads));
	const char **names = calloc(count ? count : 1, sizeof(*names));
	size_t *in_window = NULL;
	size_t n = 0, names_count = 0, i, j, best;
	int64_t best_sec;

	if (reads == NULL || names == NULL)
		goto nomem;
	for (i = 0; i < count; i++)
		if (items[i].patient != NULL && items[i].event != NULL &&
		    strcmp(items[i].event, "PHI File Viewed") == 0) {
			reads[n++].item = &items[i];
			names[names_count++] = items[i].patient;
		}
	in_window = calloc(names_count ? names_count : 1, sizeof(*in_window));
	if (in_window == NULL)
		goto nomem;
	number_patients(reads, n, names, names_count);
	qsort(reads, n, sizeof(*reads), process_read_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && same_process(reads[j].item, reads[i].item); j++)
			;
		best = busiest_window(reads, i, j, in_window, lim, &best_sec);
		if ((int64_t)best >= lim->bulk_patients)
			add_bulk_read(reads[i].item, best, best_sec,
				      (int64_t)(j - i), lim, out);
	}
	free(reads);
	free(names);
	free(in_window);
	return;
nomem:
	out->failed = 1;
	free(reads);
	free(names);
	free(in_window);
}

/* ---- denied attempts ------------------------------------------------------ */

static void
find_denied(const struct report_item **sorted, size_t count,
	    struct finding_list *out)
{
	size_t i = 0, m;

	while (i < count) {
		const struct report_item *first = sorted[i];
		int64_t day = floor_div(first->sec, DAY_SEC);
		size_t failures = 0;
		struct unusual_finding *f;
		char day_buf[16];

		if (!is_failed(first)) {
			i++;
			continue;
		}
		for (m = i; m < count && str_or_empty_cmp(sorted[m]->actor,
							    first->actor) == 0 &&
		     floor_div(sorted[m]->sec, DAY_SEC) == day; m++)
			failures += is_failed(sorted[m]);
		day_text(first->sec, day_buf, sizeof(day_buf));
		f = finding_add(out, "denied", first->actor, first->sec,
				(int64_t)failures);
		if (f != NULL)
			snprintf(f->why, sizeof(f->why),
				 "%s had %zu failed attempt%s on %s; the first: "
				 "%s%s%s of %s (%s)%s", f->actor, failures,
				 failures == 1 ? "" : "s", day_buf,
				 first->event ? first->event : "access",
				 first->patient ? " for patient " : "",
				 first->patient ? first->patient : "",
				 first->target ? first->target : "an unknown target",
				 first->result ? first->result : "denied",
				 failures > 1 ? ", every attempt is listed by "
				 "'phitrail query --failed'" : "");
		i = m;
	}
}

static int
finding_cmp(const void *a, const void *b)
{
	const struct unusual_finding *x = a, *y = b;
	int c;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if ((c = strcmp(x->actor, y->actor)) != 0)
		return c;
	return strcmp(x->signal, y->signal);
}

int
unusual_find(const struct report_item *items, size_t count,
	     const struct unusual_limits *limits,
	     struct unusual_finding **findings, size_t *finding_count)
{
	struct finding_list out = { 0 };
	const struct report_item **sorted, **people;
	size_t i, people_count = 0;

	*findings = NULL;
	*finding_count = 0;
	sorted = calloc(count ? count : 1, sizeof(*sorted));
	people = calloc(count ? count : 1, sizeof(*people));
	if (sorted == NULL || people == NULL) {
		free(sorted);
		free(people);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		sorted[i] = &items[i];
		if (!is_collector_event(&items[i]))
			people[people_count++] = &items[i];
	}
	qsort(sorted, count, sizeof(*sorted), item_actor_time_cmp);
	qsort(people, people_count, sizeof(*people), item_actor_time_cmp);
	find_many_patients(items, count, limits, &out);
	find_off_hours(people, people_count, limits, &out);
	find_bulk_reads(items, count, limits, &out);
	find_denied(sorted, count, &out);
	free(sorted);
	free(people);
	if (out.failed) {
		free(out.items);
		return -ENOMEM;
	}
	if (out.count > 0)
		qsort(out.items, out.count, sizeof(*out.items), finding_cmp);
	*findings = out.items;
	*finding_count = out.count;
	return 0;
}
