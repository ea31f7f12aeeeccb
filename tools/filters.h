/*
 * filters.h - the filter options every reading verb shares (query, tail,
 * stats; implemented in filters.c), and the one call that asks the
 * collector and tells the user what to do when it cannot (ask.c).
 */
#ifndef PHITRAIL_FILTERS_H
#define PHITRAIL_FILTERS_H

#include <getopt.h>
#include <signal.h>
#include <stdint.h>

#include "client.h"
#include "query.h"

/* getopt_long values of the filter options (above any short option). */
enum cli_filter_option {
	CLI_FILTER_PATIENT = 256, CLI_FILTER_ACTOR, CLI_FILTER_EVENT,
	CLI_FILTER_SINCE, CLI_FILTER_UNTIL, CLI_FILTER_TARGET, CLI_FILTER_HOST,
	CLI_FILTER_PID, CLI_FILTER_EXE, CLI_FILTER_RULE, CLI_FILTER_RESULT,
	CLI_FILTER_FAILED, CLI_FILTER_DB,
	CLI_FILTER_END                   /* verbs number their own from here */
};

/* The filters' entries for a verb's struct option array. */
#define CLI_FILTER_LONG_OPTIONS \
	{ "patient", required_argument, NULL, CLI_FILTER_PATIENT }, \
	{ "actor", required_argument, NULL, CLI_FILTER_ACTOR }, \
	{ "event", required_argument, NULL, CLI_FILTER_EVENT }, \
	{ "since", required_argument, NULL, CLI_FILTER_SINCE }, \
	{ "until", required_argument, NULL, CLI_FILTER_UNTIL }, \
	{ "target", required_argument, NULL, CLI_FILTER_TARGET }, \
	{ "host", required_argument, NULL, CLI_FILTER_HOST }, \
	{ "pid", required_argument, NULL, CLI_FILTER_PID }, \
	{ "exe", required_argument, NULL, CLI_FILTER_EXE }, \
	{ "rule", required_argument, NULL, CLI_FILTER_RULE }, \
	{ "result", required_argument, NULL, CLI_FILTER_RESULT }, \
	{ "failed", no_argument, NULL, CLI_FILTER_FAILED }, \
	{ "db", required_argument, NULL, CLI_FILTER_DB }

/* The help lines of the filter options (and --config). */
extern const char cli_filter_help[];

/*
 * Applies filter option (a CLI_FILTER_* value) with its argument to q.
 * Returns 1 when option is a filter and was applied, 0 when it is not a
 * filter, or an exit status (CLI_EXIT_USAGE, message printed).
 */
int cli_filter_apply(const char *verb, int option, const char *arg,
		     struct query_request *q);

/*
 * --db FILE (set by cli_filter_apply, or by a verb of its own options):
 * when not NULL, cli_ask_collector and cli_stats_fetch read this store
 * file directly, read-only (dbfile.c), instead of asking the collector.
 */
extern const char *cli_store_file;

/*
 * The store file's side of cli_ask_collector and cli_stats_fetch: opens
 * path read-only (store_query_open), runs q on it (store_query.c, the
 * collector's own code) and hands each record to callback, or each group
 * to row. Returns 0, or an exit status after telling the user why.
 */
int cli_db_ask(const char *path, const struct query_request *q,
	       cli_record_callback callback, void *context, int64_t *count);
int cli_db_stats(const char *path, const struct query_request *q,
		 int (*row)(void *context, const char *key, int64_t count),
		 void *context);

/* Checks what no single option can (--since before --until). 0 or status. */
int cli_filter_check(const char *verb, const struct query_request *q);

/*
 * One exchange with the collector at socket_path: q sent, records to
 * callback. Returns 0, or an exit status after telling the user what went
 * wrong and what to do (collector down, refused, broken answer).
 */
int cli_ask_collector(const char *socket_path, const struct query_request *q,
		      cli_record_callback callback, void *context,
		      int64_t *count, const volatile sig_atomic_t *stop);

/* Explains a failed connection to the query socket (stderr). */
void cli_explain_connect_error(const char *socket_path, int error);

#endif
