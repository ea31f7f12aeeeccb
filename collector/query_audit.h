/*
 * query_audit.h - the "Audit Trail Queried" record of every question asked
 * on the query socket (query_audit.c).
 */
#ifndef PHITRAILD_QUERY_AUDIT_H
#define PHITRAILD_QUERY_AUDIT_H

#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "query.h"

/* Remembers the workspace, host and socket the records name. */
void query_audit_start(const struct config *cfg);

/*
 * Records that peer asked q (NULL: undecodable) with this result ("ok",
 * "EACCES"); count < 0 when nothing was answered. Committed at once unless
 * a group is open; logged when it cannot be (then it is kept for the next
 * group). A repeat within QUERY_AUDIT_REPEAT_MS is not recorded again.
 */
void query_audit_question(const struct ucred *peer,
			  const struct query_request *q, const char *result,
			  int64_t count);

#endif
