/*
 * stats.h - counts grouped by the collector (stats.c), for the "stats"
 * verb and for reports.
 */
#ifndef PHITRAIL_STATS_H
#define PHITRAIL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"

struct cli_stats_group {
	char *key;                      /* NULL: nil (no patient, ...) */
	int64_t count;
};

struct cli_stats {
	struct cli_stats_group *groups; /* in the collector's order (by key) */
	size_t count, capacity;
	int64_t total;                  /* sum of the counts */
};

/*
 * Sends q (op "stats", q->by set) to the collector at socket_path and
 * collects the groups. Returns 0, or an exit status after telling the user
 * what went wrong and what to do. Free stats with cli_stats_free.
 */
int cli_stats_fetch(const char *socket_path, const struct query_request *q,
		    struct cli_stats *stats);
void cli_stats_free(struct cli_stats *stats);

#endif
