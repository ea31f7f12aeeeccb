/*
 * status_report.h - the answer to a "status" request (common/protocol/status.h)
 * built from the collector's parts (status_report.c).
 */
#ifndef PHITRAILD_STATUS_REPORT_H
#define PHITRAILD_STATUS_REPORT_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Remembers what status reports on and the start time. */
void status_report_start(const struct config *cfg, struct store *st);

/* The answer now, encoded into buf (cap bytes): length or -ENOSPC. */
long status_report_encode(void *buf, size_t cap);

#endif
