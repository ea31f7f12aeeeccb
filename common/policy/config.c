/*
 * config.c - loading phitrail.conf into struct config: the defaults, the
 * file read into one buffer, and the public entry points of config.h.
 *
 * The parsing itself is config_reader.c (lines and sections, fed to inih)
 * and config_keys.c (what each key means and accepts); matching paths
 * against the rules is config_match.c. They share config_private.h.
 *
 * Runs inside host programs (the shim loads it once at start-up): the only
 * allocation is the file buffer in config_load, no stdio, no exit, no
 * output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "config_private.h"

/*
 * The tables (rules, patterns, addresses: nearly all of the struct) are not
 * cleared: an entry is written whole when it is added and nothing reads past
 * the counts. The shim's configuration lives in every host process; clearing
 * it all would make some 300 KiB of it resident there for nothing.
 */
static void config_nats_defaults(struct config_nats *n)
{
	strlcpy(n->stream, "PHITRAIL", sizeof(n->stream));
	strlcpy(n->subject_prefix, "phitrail", sizeof(n->subject_prefix));
	strlcpy(n->durable, "phitrail-aggregate", sizeof(n->durable));
	n->stall_s = 60;
	n->replicas = 1;
	n->max_pending = 16384;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, offsetof(struct config, rules));
	cfg->rule_count = 0;
	cfg->pattern_count = 0;
	cfg->address_count = 0;
	memset(cfg->error, 0, sizeof(cfg->error));
	cfg->error_count = 0;
	memset(&cfg->path_filter, 0, sizeof(cfg->path_filter));
	strlcpy(cfg->workspace_id, "default", sizeof(cfg->workspace_id));
	strlcpy(cfg->socket_path, "/run/phitrail/ingest.sock", sizeof(cfg->socket_path));
	strlcpy(cfg->query_socket_path, "/run/phitrail/query.sock",
		sizeof(cfg->query_socket_path));
	strlcpy(cfg->database, "/var/lib/phitrail/audit.db", sizeof(cfg->database));
	strlcpy(cfg->spool, "/var/spool/phitrail", sizeof(cfg->spool));
	strlcpy(cfg->key_file, "/var/lib/phitrail/signing.key", sizeof(cfg->key_file));
	cfg->auditors[0] = '\0';
	cfg->on_collector_down = CONFIG_ON_DOWN_SPOOL;
	cfg->flush = CONFIG_FLUSH_BATCH;
	cfg->batch_delay_ms = 50;
	cfg->checkpoint_interval_s = 60;
	cfg->retention_days = 2190;
	cfg->follow_exec = 1;
	strlcpy(cfg->syslog.app_name, "phitraild", sizeof(cfg->syslog.app_name));
	cfg->syslog.facility = 10;          /* authpriv, as IHE ATNA suggests */
	cfg->syslog.stall_s = 60;
	cfg->syslog.max_pending = 1024;
	cfg->kernel_safety_net = 1;
	cfg->follow_aliases = 1;
	config_nats_defaults(&cfg->forward);
	config_nats_defaults(&cfg->aggregate);
}

const char *config_choose_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL && explicit_path[0] != '\0')
		return explicit_path;
	env = getenv(CONFIG_ENV);
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

int config_load_string(struct config *cfg, const char *name, const char *text,
		       size_t len)
{
	struct parse p;

	config_defaults(cfg);
	strlcpy(cfg->path, name ? name : "(string)", sizeof(cfg->path));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.text = text;
	p.len = len;
	p.section = SECTION_NONE;
	if (len > CONFIG_FILE_MAX) {
		config_error_set(cfg, "%s: larger than %u bytes", cfg->path, CONFIG_FILE_MAX);
		return -EINVAL;
	}
	config_parse_text(&p);
	config_path_filter_build(cfg);
	return cfg->error_count > 0 ? -EINVAL : 0;
}

int config_load(struct config *cfg, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd, rc;

	config_defaults(cfg);
	strlcpy(cfg->path, path, sizeof(cfg->path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		config_error_set(cfg, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		config_error_set(cfg, "%s: not a regular file", path);
		goto out;
	}
	/* Room for the file as it is now (a small malloc, not a mapping of
	 * CONFIG_FILE_MAX in every process the shim starts in); grown to the
	 * limit only if it grows while we read. */
	cap = st.st_size < CONFIG_FILE_MAX ? (size_t)st.st_size + 2 : CONFIG_FILE_MAX + 1;
	buf = malloc(cap);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (len == cap && cap < CONFIG_FILE_MAX + 1) {
			char *bigger = realloc(buf, CONFIG_FILE_MAX + 1);

			if (bigger == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = bigger;
			cap = CONFIG_FILE_MAX + 1;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			rc = -EFBIG;
			config_error_set(cfg, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = config_load_string(cfg, path, buf, len);
	goto out;
fail:
	config_error_set(cfg, "%s: cannot read: %s", path, strerror(-rc));
out:
	free(buf);
	close(fd);
	return rc;
}

