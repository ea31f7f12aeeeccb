/*
 * fanotify.h - the kernel as a safety net (fanotify.c): PHI accesses the
 * kernel saw that no shim record covers, stored with detail.source =
 * "kernel".
 */
#ifndef PHITRAILD_FANOTIFY_H
#define PHITRAILD_FANOTIFY_H

#include <stdint.h>

#include "config.h"
#include "record.h"
#include "store.h"

/*
 * Marks the rule roots' directories and watches them from the loop, unless
 * kernel_safety_net = off or the collector lacks CAP_SYS_ADMIN: then it
 * logs why and stays off. Always 0 (the collector runs either way).
 */
int safetynet_start(const struct config *cfg, struct store *st);

/* A shim record was stored: it covers the kernel's view of that access. */
void safetynet_note_shim(const struct record *r);

/* Every FOLLOW_TICK_MS: decides waiting accesses, marks new directories. */
void safetynet_tick(void);

/* Reads what is left, stores what no shim record covered, closes. */
void safetynet_stop(void);

/* "on (...)" or "off (why)", for logs and status. */
const char *safetynet_state(void);

/* Since start: directories marked (at the last walk), kernel events read
 * (both groups), reports covered by shim records, stored from the kernel,
 * and queue overflows. */
struct safetynet_counts {
	uint64_t marks, events, merged, stored, overflows;
};
const struct safetynet_counts *safetynet_counts(void);

#endif
