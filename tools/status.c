/*
 * status.c - `phitrail status`: how the collector is doing, in the manner
 * of `auditctl -s`.
 *
 *   phitrail status [--config FILE] [--format table|json]
 *
 * Asks the collector over the query socket ("status", query.h), prints
 * its answer (status.h) as lines for people or one JSON object, and
 * exits 1 when health.c finds something that needs attention (the
 * collector cannot be reached among them), 0 when all is well, 2 for a
 * usage error.
 * Owns: the two writers and the exit rule's wiring. Must never: read the
 * store, or decide a threshold itself (health.c does).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/libutil.h>

#include "cli.h"
#include "control.h"
#include "health.h"
#include "output.h"
#include "timefmt.h"

#define NS_PER_S INT64_C(1000000000)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phitrail status [--config FILE] [--format table|json]\n"
		"  How the collector is doing: up or down, version, uptime, records,\n"
		"  losses and tampering since start, spool backlog, the newest signed\n"
		"  checkpoint, store size and free disk, the configuration, programs\n"
		"  running unaudited, forwarders.\n"
		"  Exit status: 0 all is well, 1 something needs attention (listed\n"
		"  under 'attention'), 2 usage.\n");
}

/* "3d 4h", "2h 5m", "4m 10s", "12s". */
static void format_age(int64_t ns, char *buf, size_t size)
{
	int64_t s = ns / NS_PER_S;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, size, "%" PRId64 "d %" PRId64 "h", s / 86400,
			 s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRId64 "h %" PRId64 "m", s / 3600,
			 s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRId64 "s", s);
}

static const char *bytes_text(int64_t bytes, char *buf, size_t size)
{
	/* 7 bytes: at most 4 digits or "1.2", a prefix and "B" */
	if (size < 8 || humanize_number(buf, 7, bytes, "B", HN_AUTOSCALE,
					HN_DECIMAL | HN_NOSPACE) < 0)
		snprintf(buf, size, "%" PRId64 " B", bytes);
	return buf;
}

static void print_printable(const char *label, const char *text)
{
	char *shown = cli_printable_dup(text);

	printf("%-12s %s\n", label, shown ? shown : "?");
	free(shown);
}

static void write_table(const struct status_reply *s,
			const struct health_findings *f)
{
	char a[32], b[32], when[CLI_TIME_TEXT_MAX], line[2 * STATUS_PATH_MAX];
	size_t i;

	printf("%-12s up\n", "collector");
	printf("%-12s %s\n", "version", s->version);
	format_age(s->now_ns - s->started_ns, a, sizeof(a));
	if (cli_time_format_table(s->started_ns / NS_PER_S, when, sizeof(when)) < 0)
		strcpy(when, "?");
	printf("%-12s %s (since %s)\n", "uptime", a, when);
	printf("%-12s %" PRId64 " in the store, %" PRId64 " stored since start\n",
	       "records", s->records, s->stored_since_start);
	printf("%-12s %" PRId64 " since start\n", "lost", s->lost_since_start);
	printf("%-12s %" PRId64 " spool file(s) quarantined since start\n",
	       "tampered", s->tampered_since_start);
	if (s->spool_files == 0 || s->spool_oldest_ns == STATUS_NONE)
		printf("%-12s %" PRId64 " file(s) with unread frames\n", "spool",
		       s->spool_files);
	else {
		format_age(s->now_ns - s->spool_oldest_ns, a, sizeof(a));
		printf("%-12s %" PRId64 " file(s), %s unread, oldest %s\n", "spool",
		       s->spool_files, bytes_text(s->spool_bytes, b, sizeof(b)), a);
	}
	if (s->checkpoint_ns == STATUS_NONE)
		printf("%-12s none yet (interval %" PRId64 "s)\n", "checkpoint",
		       s->checkpoint_interval_s);
	else {
		format_age(s->now_ns - s->checkpoint_ns, a, sizeof(a));
		printf("%-12s %" PRId64 " record(s), signed %s ago (interval %"
		       PRId64 "s)\n", "checkpoint", s->checkpoint_size, a,
		       s->checkpoint_interval_s);
	}
	printf("%-12s %s; ", "store", bytes_text(s->store_bytes, a, sizeof(a)));
	printf("%s free of ", bytes_text(s->disk_free_bytes, a, sizeof(a)));
	printf("%s on its disk\n", bytes_text(s->disk_total_bytes, a, sizeof(a)));
	if (s->config_errors == 0)
		snprintf(line, sizeof(line), "%s: valid", s->config);
	else
		snprintf(line, sizeof(line), "%s: %" PRId64 " error(s), first: %s",
			 s->config, s->config_errors, s->config_error);
	print_printable("config", line);
	for (i = 0; i < s->unaudited_count; i++) {
		const struct status_unaudited *u = &s->unaudited[i];

		format_age(s->now_ns - u->last_ns, a, sizeof(a));
		snprintf(line, sizeof(line), "program %s (pid %" PRId64 ", uid %"
			 PRId64 ") runs unaudited: %s [%" PRId64 " time(s), last %s "
			 "ago]", u->exe, u->pid, u->uid, u->reason, u->count, a);
		print_printable(i == 0 ? "unaudited" : "", line);
	}
	for (i = 0; i < s->forwarder_count; i++) {
		const struct status_forwarder *fw = &s->forwarders[i];

		snprintf(line, sizeof(line), "%s: %" PRId64 " record(s) behind, "
			 "lag %" PRId64 " ms", fw->name, fw->backlog, fw->lag_ms);
		print_printable(i == 0 ? "forwarders" : "", line);
	}
	snprintf(line, sizeof(line), "%s", s->kernel_net);
	print_printable("kernel", line);
	if (strncmp(s->kernel_net, "on", 2) == 0) {
		snprintf(line, sizeof(line), "%" PRId64 " event(s) read, %" PRId64
			 " stored from the kernel, %" PRId64 " covered by shim "
			 "records, %" PRId64 " queue overflow(s)", s->kernel_events,
			 s->kernel_stored, s->kernel_merged, s->kernel_overflows);
		print_printable("", line);
	}
	if (f->count == 0)
		printf("%-12s none\n", "attention");
	for (i = 0; i < f->count; i++)
		print_printable(i == 0 ? "attention" : "", f->text[i]);
}

static void json_key_int(const char *key, int64_t v, int optional)
{
	printf(",\"%s\":", key);
	if (optional && v == STATUS_NONE)
		fputs("null", stdout);
	else
		printf("%" PRId64, v);
}

static void json_key_str(const char *key, const char *v)
{
	printf(",\"%s\":", key);
	cli_json_string(stdout, v);
}

static void json_findings(const struct health_findings *f)
{
	size_t i;

	printf(",\"attention\":[");
	for (i = 0; i < f->count; i++) {
		if (i > 0)
			putchar(',');
		cli_json_string(stdout, f->text[i]);
	}
	printf("]}\n");
}

static void write_json(const struct status_reply *s,
		       const struct health_findings *f)
{
	static const struct {
		const char *key;
		size_t offset;
		int optional;
	} ints[] = {
#define I(name, opt) { #name, offsetof(struct status_reply, name), opt }
		I(now_ns, 0), I(started_ns, 0), I(records, 0),
		I(stored_since_start, 0), I(lost_since_start, 0),
		I(tampered_since_start, 0), I(spool_files, 0), I(spool_bytes, 0),
		I(spool_oldest_ns, 1), I(checkpoint_ns, 1), I(checkpoint_size, 0),
		I(checkpoint_interval_s, 0), I(store_bytes, 0),
		I(disk_free_bytes, 0), I(disk_total_bytes, 0), I(config_errors, 0),
		I(kernel_marks, 0), I(kernel_events, 0), I(kernel_merged, 0),
		I(kernel_stored, 0), I(kernel_overflows, 0),
#undef I
	};
	size_t i;

	printf("{\"collector\":\"up\"");
	json_key_str("version", s->version);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		json_key_int(ints[i].key, *(const int64_t *)((const char *)s +
							    ints[i].offset),
			     ints[i].optional);
	json_key_str("config", s->config);
	json_key_str("config_error", s->config_error);
	json_key_str("kernel_net", s->kernel_net);
	printf(",\"unaudited\":[");
	for (i = 0; i < s->unaudited_count; i++) {
		const struct status_unaudited *u = &s->unaudited[i];

		printf("%s{\"exe\":", i ? "," : "");
		cli_json_string(stdout, u->exe);
		printf(",\"pid\":%" PRId64 ",\"uid\":%" PRId64 ",\"reason\":", u->pid,
		       u->uid);
		cli_json_string(stdout, u->reason);
		printf(",\"count\":%" PRId64 ",\"last_ns\":%" PRId64 "}", u->count,
		       u->last_ns);
	}
	printf("],\"forwarders\":[");
	for (i = 0; i < s->forwarder_count; i++) {
		printf("%s{\"name\":", i ? "," : "");
		cli_json_string(stdout, s->forwarders[i].name);
		printf(",\"backlog\":%" PRId64 ",\"lag_ms\":%" PRId64 "}",
		       s->forwarders[i].backlog, s->forwarders[i].lag_ms);
	}
	putchar(']');
	json_findings(f);
}

static void set_text(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_text(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);    /* cut when long: it is for reading */
	va_end(ap);
}

static void write_down(int json, const char *message,
		       const struct health_findings *f)
{
	if (json) {
		printf("{\"collector\":\"down\"");
		json_key_str("error", message);
		json_findings(f);
		return;
	}
	printf("%-12s down\n", "collector");
	print_printable("attention", f->text[0]);
}

int cli_status_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct status_reply s;
	static struct health_findings findings;
	const char *config_path = NULL;
	struct config *cfg = NULL;
	char message[512];
	int opt, rc, json = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "table") == 0 ||
				 strcmp(optarg, "text") == 0)
				json = 0;
			else
				return cli_usage_error("status", "no output format "
						       "'%s' (table, json)", optarg);
			break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		default: return cli_bad_option("status", opt, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("status", "unexpected argument '%s'",
				       argv[optind]);
	if ((rc = cli_config_for_settings(config_path, &cfg)) != 0)
		return rc;
	rc = cli_control_status(cfg->query_socket_path, &s, message, sizeof(message));
	if (rc < 0) {
		findings.count = 1;
		set_text(findings.text[0], sizeof(findings.text[0]), "%s%s%s",
			 rc == -EREMOTEIO ? "the collector refused the status "
			 "request: " : "collector down: ", message,
			 rc == -ENOENT || rc == -ECONNREFUSED ?
			 " (is phitraild running?)" : "");
		write_down(json, message, &findings);
	} else {
		health_check(&s, cfg->error_count, &findings);
		if (json)
			write_json(&s, &findings);
		else
			write_table(&s, &findings);
	}
	free(cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("writing the output");
		return CLI_EXIT_FAILURE;
	}
	return findings.count > 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
