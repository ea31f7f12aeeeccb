/*
 * forward_syslog.h - the ATNA sink (forward_syslog.c): every stored record
 * as a DICOM audit message to a syslog receiver over RFC 5425 TLS.
 */
#ifndef PHITRAILD_FORWARD_SYSLOG_H
#define PHITRAILD_FORWARD_SYSLOG_H

#include "config.h"

/* The sink's cursor name in forward_cursor. */
#define FORWARD_SYSLOG_NAME "syslog"

/*
 * Adds the sink of cfg->syslog to the forwarding framework (after
 * forward_init). cfg must outlive the sink. 0 or -errno.
 */
int forward_syslog_add(const struct config *cfg);

#endif
