/*
 * own_record.c - fills the fields every record of the collector's own
 * carries (own_record.h).
 */
#include <time.h>

#include "own_record.h"

void own_record_set_identity(struct record *r, const struct writer_identity *w)
{
	r->pid = w->pid;
	r->uid = w->uid;
	r->auid = w->auid;
	r->session = w->session;
	if (w->ppid != RECORD_ABSENT)
		r->ppid = w->ppid;
	if (w->exe[0] != '\0')
		r->exe = w->exe;
	r->actor_user_id = w->actor;
	r->identity = w->kind;
}

void own_record_start(struct record *r, const char *workspace_id,
		      enum event_type type, const char *host,
		      const struct writer_identity *who)
{
	struct timespec ts;

	record_init(r);
	clock_gettime(CLOCK_REALTIME, &ts);
	r->workspace_id = workspace_id;
	r->event_type = type;
	r->timestamp_sec = ts.tv_sec;
	r->timestamp_nsec = (uint32_t)ts.tv_nsec;
	r->host = host != NULL && host[0] != '\0' ? host : NULL;
	if (who != NULL)
		own_record_set_identity(r, who);
}
