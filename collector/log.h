/*
 * log.h - the collector's log: one line per message on stderr,
 * "phitraild: LEVEL: message".
 */
#ifndef PHITRAILD_LOG_H
#define PHITRAILD_LOG_H

#include <stdarg.h>

void daemon_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void daemon_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void daemon_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at level "fatal" and exits 1. */
void daemon_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Debug lines only when PHITRAILD_DEBUG is set in the environment. */
void daemon_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
