/*
 * filters.c - the filter options every reading verb shares (query, tail,
 * stats; filters.h): --patient, --actor, --event and its short names,
 * --since/--until in every form timefmt.c and timewords.c read, --pid,
 * --failed, the text filters and --db, each checked and copied into a
 * query_request, and their help lines.
 *
 * Must never: ask the collector or read the store; a filter that does not
 * fit the request is a usage error, never silently cut.
 */
#include <err.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "cli.h"
#include "filters.h"
#include "options.h"
#include "record.h"
#include "timefmt.h"

/* Short names for --event; the full names are record.h's. */
static const struct event_alias {
	const char *alias;
	enum event_type type;
} event_aliases[] = {
	{ "viewed", EVENT_FILE_VIEWED },
	{ "modified", EVENT_FILE_MODIFIED },
	{ "created", EVENT_FILE_CREATED },
	{ "deleted", EVENT_FILE_DELETED },
	{ "renamed", EVENT_FILE_RENAMED },
	{ "denied", EVENT_FILE_ACCESS_DENIED },
	{ "permissions", EVENT_FILE_PERMISSIONS_CHANGED },
	{ "listed", EVENT_DIRECTORY_LISTED },
	{ "opened", EVENT_CONNECTION_OPENED },
	{ "accepted", EVENT_CONNECTION_ACCEPTED },
	{ "sent", EVENT_MESSAGE_SENT },
	{ "received", EVENT_MESSAGE_RECEIVED },
	{ "lost", EVENT_RECORDS_LOST },
	{ "tampered", EVENT_SPOOL_TAMPERED },
	{ "stalled", EVENT_FORWARDING_STALLED },
	{ "started", EVENT_COLLECTOR_STARTED },
	{ "stopped", EVENT_COLLECTOR_STOPPED },
	{ "queried", EVENT_TRAIL_QUERIED },
};

const char cli_filter_help[] =
	"  --config FILE     the configuration (default $PHITRAIL_CONFIG or "
	CONFIG_DEFAULT_PATH ")\n"
	"  --patient ID      records about this patient (end_user_id)\n"
	"  --actor USER      records of this person (actor_user_id)\n"
	"  --event TYPE      this event type; repeat or separate with ',' for "
	"several.\n"
	"                    Full names (\"PHI File Viewed\") or viewed, modified, "
	"created,\n"
	"                    deleted, renamed, denied, permissions, listed, "
	"opened, accepted,\n"
	"                    sent, received, lost, tampered, started, stopped, "
	"queried\n"
	"  --since TIME      at or after TIME; --until TIME: before TIME. TIME is "
	"RFC 3339\n"
	"                    (2026-11-28T14:47:26Z, 2026-11-28T09:47:26.5-05:00), "
	"a date\n"
	"                    (2026-11-28, midnight UTC), that long ago (90s, "
	"15m, 2h, 7d, 2w),\n"
	"                    today, yesterday, this-week, this-month, this-year, "
	"recent (10 min)\n"
	"                    or a local time in a zone (2026-12-04 09:00 "
	"Europe/Berlin, ... local)\n"
	"  --target GLOB     the path or address matches GLOB (*, **, {name})\n"
	"  --host H, --pid N, --exe PATH, --rule NAME, --result R (ok, EACCES, "
	"...)\n"
	"  --failed          only failed attempts (result not ok)\n"
	"  --db FILE         read this store file (an archived audit.db) "
	"directly,\n"
	"                    read-only, instead of asking the collector\n";

static int
add_event(const char *verb, struct query_request *q, const char *name)
{
	enum event_type type = event_type_from_name(name);

	for (size_t i = 0; type == EVENT_NONE &&
	     i < sizeof(event_aliases) / sizeof(event_aliases[0]); i++)
		if (strcasecmp(event_aliases[i].alias, name) == 0)
			type = event_aliases[i].type;
	for (int t = EVENT_NONE + 1; type == EVENT_NONE && t < EVENT_COUNT; t++) {
		const char *full = event_type_name((enum event_type)t);
		if (full && strcasecmp(full, name) == 0)
			type = (enum event_type)t;
	}
	if (type == EVENT_NONE || event_type_name(type) == NULL)
		return cli_usage_error(verb, "unknown event type '%s' (a full "
				       "name such as \"PHI File Viewed\", or "
				       "viewed, modified, created, deleted, ...)",
				       name);
	if (q->event_count == QUERY_MAX_EVENTS)
		return cli_usage_error(verb, "at most %d event types",
				       QUERY_MAX_EVENTS);
	if (strlcpy(q->events[q->event_count], event_type_name(type),
		    sizeof(q->events[0])) >= sizeof(q->events[0]))
		return cli_usage_error(verb, "event type name too long");
	q->event_count++;
	return 0;
}

static int
add_events(const char *verb, struct query_request *q, const char *list)
{
	char *copy = strdup(list), *cursor = copy, *name;
	int rc = 0;

	if (copy == NULL)
		err(CLI_EXIT_FAILURE, "strdup");
	while (rc == 0 && (name = strsep(&cursor, ",")) != NULL) {
		while (*name == ' ')
			name++;
		if (*name == '\0')
			continue;
		rc = add_event(verb, q, name);
	}
	free(copy);
	return rc;
}

static int
copy_filter(const char *verb, const char *option, char *field,
	    const char *value)
{
	if (*value == '\0')
		return cli_usage_error(verb, "--%s needs a non-empty value",
				       option);
	if (strlcpy(field, value, QUERY_MAX_STRING) >= QUERY_MAX_STRING)
		return cli_usage_error(verb, "--%s is longer than %d bytes",
				       option, QUERY_MAX_STRING - 1);
	return 0;
}

int
cli_filter_apply(const char *verb, int option, const char *arg,
		 struct query_request *q)
{
	static const struct {
		int option;
		const char *name;
		size_t offset;
	} text_filters[] = {
		{ CLI_FILTER_PATIENT, "patient", offsetof(struct query_request, patient) },
		{ CLI_FILTER_ACTOR, "actor", offsetof(struct query_request, actor) },
		{ CLI_FILTER_TARGET, "target", offsetof(struct query_request, target) },
		{ CLI_FILTER_HOST, "host", offsetof(struct query_request, host) },
		{ CLI_FILTER_EXE, "exe", offsetof(struct query_request, exe) },
		{ CLI_FILTER_RULE, "rule", offsetof(struct query_request, rule) },
		{ CLI_FILTER_RESULT, "result", offsetof(struct query_request, result) },
	};
	long long number;
	int rc;

	for (size_t i = 0; i < sizeof(text_filters) / sizeof(text_filters[0]); i++)
		if (text_filters[i].option == option) {
			rc = copy_filter(verb, text_filters[i].name,
					 (char *)q + text_filters[i].offset, arg);
			return rc == 0 ? 1 : rc;
		}
	switch (option) {
	case CLI_FILTER_DB:
		cli_store_file = arg;
		rc = 0;
		break;
	case CLI_FILTER_EVENT:
		rc = add_events(verb, q, arg);
		break;
	case CLI_FILTER_SINCE:
		rc = cli_option_time(verb, "since", arg, &q->since_ns);
		break;
	case CLI_FILTER_UNTIL:
		rc = cli_option_time(verb, "until", arg, &q->until_ns);
		break;
	case CLI_FILTER_PID:
		if ((rc = cli_option_number(verb, "pid", arg, 1, &number)) == 0)
			q->pid = number;
		break;
	case CLI_FILTER_FAILED:
		q->failed_only = 1;
		rc = 0;
		break;
	default:
		return 0;
	}
	return rc == 0 ? 1 : rc;
}

int
cli_filter_check(const char *verb, const struct query_request *q)
{
	if (q->since_ns != QUERY_ABSENT && q->until_ns != QUERY_ABSENT &&
	    q->since_ns >= q->until_ns)
		return cli_usage_error(verb, "--since must be before --until");
	return 0;
}
