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

	out[0] = int_value(r->id);
	out[1] = int_value(store_schema_ns(r->timestamp_sec, r->timestamp_nsec));
	out[2] = int_value(received);
	out[3] = text_value(r->workspace_id);
	out[4] = text_value(r->actor_user_id);
	out[5] = text_value(event_type_name(r->event_type));
	out[6] = text_value(r->end_user_id);
	out[7] = text_value(r->host);
	out[8] = int_value(r->pid);
	out[9] = int_value(r->uid);
	out[10] = int_value(r->auid);
	out[11] = text_value(r->exe);
	out[12] = text_value(r->target);
	out[13] = text_value(r->target2);
	out[14] = text_value(r->rule);
	out[15] = text_value(r->result);
	out[16] = int_value(r->seq);
	out[17] = text_value(r->identity);
}
