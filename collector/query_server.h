/*
 * query_server.h - the query socket (query.h): who may ask, and answers
 * (query_server.c, query_answer.c, query_audit.c).
 */
#ifndef PHITRAILD_QUERY_SERVER_H
#define PHITRAILD_QUERY_SERVER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

#define QUERY_SERVER_READ_TIMEOUT_MS 2000   /* a whole request, from connect */
#define QUERY_SERVER_SEND_TIMEOUT_MS 5000   /* blocked in send(), a whole answer, */
#define QUERY_SERVER_SEND_MIN_RATE 262144   /* + 1 s per this many bytes taken */
#define QUERY_SERVER_MAX_PENDING 64         /* requests being read */
#define QUERY_SERVER_MAX_PER_UID 8          /* of them, from one uid */
/* A user's identical request within this long is audited only once. */
#define QUERY_AUDIT_REPEAT_MS 60000

int query_server_start(const struct config *cfg, struct store *st);
void query_server_stop(void);
/* Closes requests not whole within QUERY_SERVER_READ_TIMEOUT_MS. */
void query_server_tick(void);

/*
 * Whether uid may query: root, the collector's own uid, or a member of
 * group (primary or supplementary; group "" = nobody else). 1 or 0.
 */
int query_server_allowed(uid_t uid, gid_t gid, const char *group);

#endif
