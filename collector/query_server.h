/*
 * query_server.h - the query socket (query.h): who may ask, and answers.
 */
#ifndef PHITRAILD_QUERY_SERVER_H
#define PHITRAILD_QUERY_SERVER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

#define QUERY_SERVER_READ_TIMEOUT_MS 2000
#define QUERY_SERVER_SEND_TIMEOUT_MS 5000
/* A user's identical request within this long is audited only once. */
#define QUERY_AUDIT_REPEAT_MS 60000

struct query_server_counters {
	uint64_t served, denied, bad_request, failed;
	uint64_t audited, audit_failed;    /* "Audit Trail Queried" records */
};

int query_server_start(const struct config *cfg, struct store *st);
void query_server_stop(void);

/*
 * Whether uid may query: root, the collector's own uid, or a member of
 * group (primary or supplementary; group "" = nobody else). 1 or 0.
 */
int query_server_allowed(uid_t uid, gid_t gid, const char *group);

#endif
