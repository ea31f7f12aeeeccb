/*
 * test_tools_health.c - the rules of `phitrail status`'s exit code
 * (health.c), each at its threshold and one past it.
 */
#include <string.h>

#include "health.h"
#include "unit.h"

#define S INT64_C(1000000000)
#define NOW (INT64_C(1796000000) * S)

static struct status_reply s;
static struct health_findings f;

/* A collector up for a day, all well. */
static void healthy(void)
{
	status_reply_init(&s);
	s.now_ns = NOW;
	s.started_ns = NOW - 86400 * S;
	s.records = 100;
	s.checkpoint_interval_s = 60;
	s.checkpoint_ns = NOW - 60 * S;
	s.checkpoint_size = 100;
	s.disk_total_bytes = INT64_C(100) << 30;
	s.disk_free_bytes = INT64_C(50) << 30;
}

static size_t findings(unsigned cli_errors)
{
	health_check(&s, cli_errors, &f);
	return f.count;
}

static void test_healthy(void)
{
	healthy();
	CHECK_INT(findings(0), 0);
	CHECK_INT(findings(1), 1);                    /* the CLI's own file */
	CHECK(strstr(f.text[0], "policy check") != NULL);
}

static void test_config_losses_tampering(void)
{
	healthy();
	s.config_errors = 2;
	strcpy(s.config_error, "/etc/phitrail/phitrail.conf:9: bad");
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "phitrail.conf:9") != NULL);
	healthy();
	s.lost_since_start = 1;
	s.tampered_since_start = 1;
	CHECK_INT(findings(0), 2);
	healthy();
	strcpy(s.kernel_net, "off (the collector lacks CAP_SYS_ADMIN)");
	CHECK_INT(findings(0), 0);                    /* said, not alarming */
	s.kernel_overflows = 1;
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "overflowed 1 time") != NULL);
}

static void test_checkpoint_age(void)
{
	healthy();
	s.checkpoint_ns = NOW - 120 * S;              /* exactly twice: fine */
	CHECK_INT(findings(0), 0);
	s.checkpoint_ns = NOW - 120 * S - 1;          /* one ns more: stale */
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "checkpoint") != NULL);
	/* too early to tell: up for exactly twice the interval */
	s.started_ns = NOW - 120 * S;
	CHECK_INT(findings(0), 0);
	s.started_ns = NOW - 120 * S - 1;
	CHECK_INT(findings(0), 1);
	/* none at all: only a finding while records are stored */
	healthy();
	s.checkpoint_ns = STATUS_NONE;
	CHECK_INT(findings(0), 1);
	s.records = 0;
	CHECK_INT(findings(0), 0);
}

static void test_disk(void)
{
	healthy();
	s.disk_free_bytes = HEALTH_DISK_MIN_BYTES;    /* 1 GiB of 100: 1 % */
	CHECK_INT(findings(0), 1);
	s.disk_total_bytes = INT64_C(20) << 30;       /* 1 GiB of 20: 5 % */
	CHECK_INT(findings(0), 0);
	s.disk_free_bytes = HEALTH_DISK_MIN_BYTES - 1;
	CHECK_INT(findings(0), 1);
	s.disk_total_bytes = INT64_C(2) << 30;        /* small disk, 1 GiB free */
	s.disk_free_bytes = HEALTH_DISK_MIN_BYTES;
	CHECK_INT(findings(0), 0);
	s.disk_total_bytes = 0;                       /* unknown: no finding */
	s.disk_free_bytes = 0;
	CHECK_INT(findings(0), 0);
}

static void test_spool_backlog(void)
{
	healthy();
	s.spool_files = 2;
	s.spool_bytes = 100;
	s.spool_oldest_ns = NOW - HEALTH_SPOOL_MAX_AGE_S * S;
	CHECK_INT(findings(0), 0);
	s.spool_oldest_ns--;
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "falls behind") != NULL);
}

static void test_unaudited_and_forwarders(void)
{
	healthy();
	s.unaudited_count = 1;
	strcpy(s.unaudited[0].exe, "/usr/bin/cat");
	strcpy(s.unaudited[0].reason, "x.conf:1: bad");
	s.unaudited[0].last_ns = NOW - HEALTH_UNAUDITED_RECENT_S * S;
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "/usr/bin/cat") != NULL);
	s.unaudited[0].last_ns--;                    /* long ago: shown, not a finding */
	CHECK_INT(findings(0), 0);
	healthy();
	s.forwarder_count = 1;
	strcpy(s.forwarders[0].name, "nats");
	s.forwarders[0].lag_ms = HEALTH_FORWARD_MAX_LAG_S * 1000;
	CHECK_INT(findings(0), 0);
	s.forwarders[0].lag_ms++;
	CHECK_INT(findings(0), 1);
	CHECK(strstr(f.text[0], "nats") != NULL);
}

static void test_at_most_max_findings(void)
{
	size_t i;

	healthy();
	s.unaudited_count = STATUS_MAX_UNAUDITED;
	for (i = 0; i < STATUS_MAX_UNAUDITED; i++)
		s.unaudited[i].last_ns = NOW;
	s.lost_since_start = 1;
	s.config_errors = 1;
	CHECK_INT(findings(1), HEALTH_MAX_FINDINGS);
}

int main(void)
{
	RUN(test_healthy);
	RUN(test_config_losses_tampering);
	RUN(test_checkpoint_age);
	RUN(test_disk);
	RUN(test_spool_backlog);
	RUN(test_unaudited_and_forwarders);
	RUN(test_at_most_max_findings);
	return unit_done();
}
