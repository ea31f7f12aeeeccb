/*
 * own_record.h - the start of every record the collector writes itself
 * (Audit Collector Started/Stopped, Records Lost, Spool Tampered, Trail
 * Queried, the kernel safety net's records, the aggregator's losses): one
 * place fills what they all carry.
 */
#ifndef PHITRAILD_OWN_RECORD_H
#define PHITRAILD_OWN_RECORD_H

#include "identity.h"
#include "record.h"

/*
 * record_init, then the workspace, the event, the collector's clock now
 * (UTC), host (NULL or "": none) and, when who is not NULL, who did it:
 * pid, ppid and exe when known, uid, auid, session, actor and the kind of
 * identity. The caller adds target, result and detail.
 */
void own_record_start(struct record *r, const char *workspace_id,
		      enum event_type type, const char *host,
		      const struct writer_identity *who);

/* The "who" fields of r from w, as own_record_start fills them. */
void own_record_set_identity(struct record *r, const struct writer_identity *w);

#endif
