/*
 * health.h - when `phitrail status` says something needs attention
 * (health.c; pure logic over a status answer, for the verb and tests).
 */
#ifndef PHITRAIL_HEALTH_H
#define PHITRAIL_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define HEALTH_MAX_FINDINGS 16
#define HEALTH_TEXT_MAX 320

/* Thresholds (documented in phitrail(1) and the README). */
#define HEALTH_DISK_MIN_BYTES (INT64_C(1) << 30)   /* 1 GiB free */
#define HEALTH_DISK_MIN_PERCENT 5                  /* of the file system */
#define HEALTH_SPOOL_MAX_AGE_S 60                  /* oldest unread frame */
#define HEALTH_FORWARD_MAX_LAG_S 300               /* a forwarder behind */
#define HEALTH_UNAUDITED_RECENT_S 3600             /* an unaudited program */

struct health_findings {
	size_t count;
	char text[HEALTH_MAX_FINDINGS][HEALTH_TEXT_MAX];
};

/*
 * What needs attention in s (the collector's answer; cli_config_errors:
 * errors the CLI found in the configuration it read itself). Each rule
 * adds one sentence; none means all is well:
 *   - the collector's configuration has errors (started --accept-errors),
 *     or the file the CLI reads has;
 *   - records were lost, or spool files quarantined, since the collector
 *     started;
 *   - the newest signed checkpoint is older than twice
 *     checkpoint_interval (or there is none while records are stored),
 *     once the collector has run that long;
 *   - less than HEALTH_DISK_MIN_BYTES or HEALTH_DISK_MIN_PERCENT free on
 *     the store's file system;
 *   - a spool frame unread for more than HEALTH_SPOOL_MAX_AGE_S;
 *   - a program said it runs unaudited, within HEALTH_UNAUDITED_RECENT_S;
 *   - a forwarder lags more than HEALTH_FORWARD_MAX_LAG_S.
 */
void health_check(const struct status_reply *s, unsigned cli_config_errors,
		  struct health_findings *out);

#endif
