/*
 * store_schema.c - the one mapping from a record to the columns of its row
 * in the store (store_schema.h): used by the collector when it inserts and
 * by `phitrail verify` when it checks that every row still says what its
 * signed bytes say.
 * Must never touch SQLite or allocate: it only reads the record.
 */
#include <stddef.h>

#include "store_schema.h"

const char *const store_derived_column_names[STORE_DERIVED_COLUMN_COUNT] = {
	"id", "timestamp_ns", "received_ns", "workspace_id", "actor_user_id",
	"event_type", "end_user_id", "host", "pid", "uid", "auid", "exe",
	"target", "target2", "rule", "result", "seq", "identity",
};

int64_t store_schema_ns(int64_t sec, uint32_t nsec)
{
	int64_t ns;

	if (__builtin_mul_overflow(sec, (int64_t)1000000000, &ns) ||
	    __builtin_add_overflow(ns, (int64_t)nsec, &ns))
		return sec < 0 ? INT64_MIN + 1 : INT64_MAX;
	return ns;
}

static struct store_value text_value(const char *text)
{
	struct store_value v = { .kind = STORE_VALUE_NULL };

	if (text != NULL) {
		v.kind = STORE_VALUE_TEXT;
		v.text = text;
	}
	return v;
}

static struct store_value int_value(int64_t number)
{
	struct store_value v = { .kind = STORE_VALUE_NULL };

	if (number != RECORD_ABSENT) {
		v.kind = STORE_VALUE_INT;
		v.number = number;
	}
	return v;
}

void store_schema_values(const struct record *r,
			 struct store_value out[STORE_DERIVED_COLUMN_COUNT])
{
	int64_t received = r->received_sec == RECORD_ABSENT ? RECORD_ABSENT :
		store_schema_ns(r->received_sec, r->received_nsec);

	out[STORE_COLUMN_ID] = int_value(r->id);
	out[STORE_COLUMN_TIMESTAMP_NS] =
		int_value(store_schema_ns(r->timestamp_sec, r->timestamp_nsec));
	out[STORE_COLUMN_RECEIVED_NS] = int_value(received);
	out[STORE_COLUMN_WORKSPACE_ID] = text_value(r->workspace_id);
	out[STORE_COLUMN_ACTOR_USER_ID] = text_value(r->actor_user_id);
	out[STORE_COLUMN_EVENT_TYPE] = text_value(event_type_name(r->event_type));
	out[STORE_COLUMN_END_USER_ID] = text_value(r->end_user_id);
	out[STORE_COLUMN_HOST] = text_value(r->host);
	out[STORE_COLUMN_PID] = int_value(r->pid);
	out[STORE_COLUMN_UID] = int_value(r->uid);
	out[STORE_COLUMN_AUID] = int_value(r->auid);
	out[STORE_COLUMN_EXE] = text_value(r->exe);
	out[STORE_COLUMN_TARGET] = text_value(r->target);
	out[STORE_COLUMN_TARGET2] = text_value(r->target2);
	out[STORE_COLUMN_RULE] = text_value(r->rule);
	out[STORE_COLUMN_RESULT] = text_value(r->result);
	out[STORE_COLUMN_SEQ] = int_value(r->seq);
	out[STORE_COLUMN_IDENTITY] = text_value(r->identity);
}
