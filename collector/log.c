/*
 * log.c - the collector's log lines.
 *
 * Owns the one format every message has: "phitraild: LEVEL: message\n",
 * written with a single write(2) so lines from one process never interleave.
 * Control characters in messages (which may quote untrusted file names) are
 * replaced by '?' so one message is always one line.
 * Must never allocate, block on anything but stderr, or exit (except
 * daemon_fatal, which is for start-up errors only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	int head, n;
	size_t len, i;

	head = snprintf(line, sizeof(line), "phitraild: %s: ", level);
	if (head < 0)
		return;
	n = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
	if (n < 0)
		n = 0;
	len = (size_t)head + (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	for (i = (size_t)head; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere left to report it */
	}
}

#define LOG_FUNCTION(name, level) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_line(level, fmt, ap); \
		va_end(ap); \
	}

LOG_FUNCTION(daemon_info, "info")
LOG_FUNCTION(daemon_warn, "warning")
LOG_FUNCTION(daemon_error, "error")

void daemon_debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0)
		enabled = getenv("PHITRAILD_DEBUG") != NULL;
	if (!enabled)
		return;
	va_start(ap, fmt);
	log_line("debug", fmt, ap);
	va_end(ap);
}

void daemon_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
