/*
 * record_schema.c - the record's vocabulary and schema (record.h): the
 * names of the event types, the table of keys in encoding order that the
 * encoder and decoder share (record_schema.h), and record_init, which
 * marks every optional field absent. Data and tiny lookups only; runs in
 * the shim, never allocates.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "record_schema.h"

/* ---- event vocabulary ---- */

static const char *const event_names[EVENT_COUNT] = {
	[EVENT_NONE] = NULL,
	[EVENT_FILE_VIEWED] = "PHI File Viewed",
	[EVENT_FILE_MODIFIED] = "PHI File Modified",
	[EVENT_FILE_CREATED] = "PHI File Created",
	[EVENT_FILE_DELETED] = "PHI File Deleted",
	[EVENT_FILE_RENAMED] = "PHI File Renamed",
	[EVENT_FILE_PERMISSIONS_CHANGED] = "PHI File Permissions Changed",
	[EVENT_FILE_ACCESS_DENIED] = "PHI File Access Denied",
	[EVENT_DIRECTORY_LISTED] = "PHI Directory Listed",
	[EVENT_CONNECTION_OPENED] = "PHI Connection Opened",
	[EVENT_CONNECTION_ACCEPTED] = "PHI Connection Accepted",
	[EVENT_MESSAGE_SENT] = "PHI Message Sent",
	[EVENT_MESSAGE_RECEIVED] = "PHI Message Received",
	[EVENT_RECORDS_LOST] = "Audit Records Lost",
	[EVENT_SPOOL_TAMPERED] = "Audit Spool Tampered",
	[EVENT_COLLECTOR_STARTED] = "Audit Collector Started",
	[EVENT_COLLECTOR_STOPPED] = "Audit Collector Stopped",
	[EVENT_TRAIL_QUERIED] = "Audit Trail Queried",
	[EVENT_FORWARDING_STALLED] = "Audit Forwarding Stalled",
};

const char *event_type_name(enum event_type type)
{
	if ((int)type <= EVENT_NONE || (int)type >= EVENT_COUNT)
		return NULL;
	return event_names[type];
}

enum event_type event_type_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return EVENT_NONE;
	for (i = EVENT_NONE + 1; i < EVENT_COUNT; i++)
		if (strcmp(event_names[i], name) == 0)
			return (enum event_type)i;
	return EVENT_NONE;
}

/* ---- the record schema, in encoding order ---- */

#define FIELD(name, kind, member, nsec, req) \
	{ name, sizeof(name) - 1, kind, offsetof(struct record, member), nsec, req }
#define STR_FIELD(name, req) FIELD(#name, FIELD_STR, name, 0, req)
#define INT_FIELD(name, req) FIELD(#name, FIELD_INT, name, 0, req)

const struct record_field record_fields[RECORD_FIELD_COUNT] = {
	STR_FIELD(workspace_id, true),
	STR_FIELD(actor_user_id, true),
	FIELD("event_type", FIELD_EVENT, event_type, 0, true),
	FIELD("end_user_id", FIELD_STR_OR_NIL, end_user_id, 0, true),
	FIELD("timestamp", FIELD_TIMESTAMP, timestamp_sec,
	      offsetof(struct record, timestamp_nsec), true),
	INT_FIELD(v, true),                 /* RECORD_PREFIX_FIRST */
	STR_FIELD(host, false),
	INT_FIELD(pid, false),
	INT_FIELD(ppid, false),
	STR_FIELD(exe, false),
	INT_FIELD(uid, false),
	INT_FIELD(auid, false),
	INT_FIELD(session, false),
	STR_FIELD(target, false),           /* RECORD_PREFIX_END */
	STR_FIELD(target2, false),
	STR_FIELD(rule, false),
	STR_FIELD(result, false),
	INT_FIELD(seq, false),
	FIELD("detail", FIELD_DETAIL, detail, 0, false),
	INT_FIELD(id, false),
	FIELD("received_at", FIELD_TIMESTAMP, received_sec,
	      offsetof(struct record, received_nsec), false),
	STR_FIELD(identity, false),
};

_Static_assert(sizeof(record_fields) / sizeof(record_fields[0]) ==
	       RECORD_FIELD_COUNT, "RECORD_FIELD_COUNT is the table's size");

void record_init(struct record *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < RECORD_FIELD_COUNT; i++) {
		const struct record_field *f = &record_fields[i];

		if (f->kind == FIELD_INT || f->kind == FIELD_TIMESTAMP)
			*FIELD_PTR(r, f, int64_t) = RECORD_ABSENT;
	}
	r->event_type = EVENT_NONE;
	r->v = RECORD_SCHEMA_VERSION;
	/* The call's time is always encoded; the collector's only when set. */
	r->timestamp_sec = 0;
}

