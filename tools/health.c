/*
 * health.c - the rules of `phitrail status`'s exit code: one table of
 * {rule, check}, each check reading a status answer (status.h) and adding
 * a sentence a sysadmin can act on. Pure logic: "now" is the collector's
 * own clock in the answer, so a rule never depends on the CLI's clock.
 * Must never: print, read the clock, or talk to the collector.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "health.h"

#define NS_PER_S INT64_C(1000000000)

static void add(struct health_findings *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct health_findings *out, const char *fmt, ...)
{
	va_list ap;

	if (out->count >= HEALTH_MAX_FINDINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(out->text[out->count++], HEALTH_TEXT_MAX, fmt, ap);
	va_end(ap);
}

static void check_config(const struct status_reply *s, unsigned cli_errors,
			 struct health_findings *out)
{
	if (s->config_errors > 0)
		add(out, "the collector runs on a configuration with %" PRId64
		    " error(s) (started with --accept-errors): %s", s->config_errors,
		    s->config_error);
	if (cli_errors > 0)
		add(out, "the configuration read here has %u error(s): run "
		    "'phitrail policy check'", cli_errors);
}

static void check_losses(const struct status_reply *s, unsigned cli_errors,
			 struct health_findings *out)
{
	(void)cli_errors;
	if (s->lost_since_start > 0)
		add(out, "%" PRId64 " record(s) reported lost since the collector "
		    "started: 'phitrail query --event \"Audit Records Lost\"' says "
		    "from whom", s->lost_since_start);
	if (s->tampered_since_start > 0)
		add(out, "%" PRId64 " spool file(s) quarantined as tampered since "
		    "the collector started: 'phitrail query --event \"Audit Spool "
		    "Tampered\"'", s->tampered_since_start);
}

static void check_kernel_net(const struct status_reply *s, unsigned cli_errors,
			     struct health_findings *out)
{
	(void)cli_errors;
	if (s->kernel_overflows > 0)
		add(out, "the kernel safety net's queue overflowed %" PRId64
		    " time(s) since start: accesses made without the shim may be "
		    "missing ('phitrail query --event \"Audit Records Lost\"')",
		    s->kernel_overflows);
}

static void check_checkpoint(const struct status_reply *s, unsigned cli_errors,
			     struct health_findings *out)
{
	int64_t limit_ns = 2 * s->checkpoint_interval_s * NS_PER_S;

	(void)cli_errors;
	if (limit_ns <= 0 || s->now_ns - s->started_ns <= limit_ns)
		return;                       /* too early to tell */
	if (s->checkpoint_ns == STATUS_NONE) {
		if (s->records > 0)
			add(out, "no signed checkpoint covers the store's %" PRId64
			    " record(s) (see the collector's log)", s->records);
		return;
	}
	if (s->now_ns - s->checkpoint_ns > limit_ns)
		add(out, "the newest signed checkpoint is %" PRId64 " s old, more "
		    "than twice checkpoint_interval (%" PRId64 " s): see the "
		    "collector's log", (s->now_ns - s->checkpoint_ns) / NS_PER_S,
		    s->checkpoint_interval_s);
}

static void check_disk(const struct status_reply *s, unsigned cli_errors,
		       struct health_findings *out)
{
	(void)cli_errors;
	if (s->disk_total_bytes <= 0)
		return;
	if (s->disk_free_bytes < HEALTH_DISK_MIN_BYTES ||
	    s->disk_free_bytes < s->disk_total_bytes / 100 * HEALTH_DISK_MIN_PERCENT)
		add(out, "low disk: %" PRId64 " MiB free of %" PRId64 " MiB on the "
		    "store's file system (less than 1 GiB or 5%%)",
		    s->disk_free_bytes >> 20, s->disk_total_bytes >> 20);
}

static void check_spool(const struct status_reply *s, unsigned cli_errors,
			struct health_findings *out)
{
	(void)cli_errors;
	if (s->spool_files > 0 && s->spool_oldest_ns != STATUS_NONE &&
	    s->now_ns - s->spool_oldest_ns > HEALTH_SPOOL_MAX_AGE_S * NS_PER_S)
		add(out, "the collector falls behind: %" PRId64 " spool file(s) "
		    "with frames unread for %" PRId64 " s", s->spool_files,
		    (s->now_ns - s->spool_oldest_ns) / NS_PER_S);
}

static void check_unaudited(const struct status_reply *s, unsigned cli_errors,
			    struct health_findings *out)
{
	size_t i;

	(void)cli_errors;
	for (i = 0; i < s->unaudited_count; i++)
		if (s->now_ns - s->unaudited[i].last_ns <=
		    HEALTH_UNAUDITED_RECENT_S * NS_PER_S)
			add(out, "program %s (pid %" PRId64 ", uid %" PRId64 ") runs "
			    "unaudited: %s", s->unaudited[i].exe,
			    s->unaudited[i].pid, s->unaudited[i].uid,
			    s->unaudited[i].reason);
}

static void check_forwarders(const struct status_reply *s, unsigned cli_errors,
			     struct health_findings *out)
{
	size_t i;

	(void)cli_errors;
	for (i = 0; i < s->forwarder_count; i++)
		if (s->forwarders[i].lag_ms > HEALTH_FORWARD_MAX_LAG_S * 1000)
			add(out, "forwarder %s lags %" PRId64 " s (%" PRId64
			    " record(s) not forwarded)", s->forwarders[i].name,
			    s->forwarders[i].lag_ms / 1000, s->forwarders[i].backlog);
}

static void (*const rules[])(const struct status_reply *, unsigned,
			     struct health_findings *) = {
	check_config, check_losses, check_kernel_net, check_checkpoint, check_disk, check_spool,
	check_unaudited, check_forwarders,
};

void health_check(const struct status_reply *s, unsigned cli_config_errors,
		  struct health_findings *out)
{
	size_t i;

	out->count = 0;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		rules[i](s, cli_config_errors, out);
}
