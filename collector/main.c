/*
 * main.c - phitraild: arguments, configuration, directories and the
 * pidfile; then the privileged parent (parent.c), which forks the store
 * process (store_process.c), or, with --aggregate, the store alone.
 *
 * Owns the daemon's start: config errors are printed and exit 1, unless
 * --accept-errors; pidfile_open on <database>.pid so two collectors never
 * share a store; directories created with their modes.
 * Must never know the ingest or query protocols or the spool format: those
 * live in ingest.c, query_server.c and follow.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include "config.h"
#include "handoff.h"
#include "log.h"
#include "merkle.h"
#include "parent.h"
#include "store_process.h"
#include "version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phitraild [--config FILE] [--accept-errors] [--aggregate]\n"
		"  Collects phitrail audit records into the store; runs in the\n"
		"  foreground until SIGTERM or SIGINT.\n"
		"  --config FILE  configuration (default: $" CONFIG_ENV ", else "
		CONFIG_DEFAULT_PATH ")\n"
		"  --accept-errors  start even when the configuration has errors\n"
		"                 (what was read is used; status reports them)\n"
		"  --aggregate    consume the fleet's records ([aggregate]) into\n"
		"                 the store instead of collecting this host's\n"
		"  --help         this text\n"
		"  --version      the version\n");
}

/* mkdir -p of path with mode for every directory it creates. */
static int make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0) {
		if (errno != EEXIST)
			return -errno;
		return 0;
	}
	return chmod(buf, mode) < 0 ? -errno : 0;   /* mode despite the umask */
}

static void make_parent_dir(const char *file, mode_t mode)
{
	char dir[PATH_MAX], *slash;
	int rc;

	strlcpy(dir, file, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	rc = make_dirs(dir, mode);
	if (rc < 0)
		daemon_fatal("cannot create directory %s: %s (create it, or fix the "
			     "path in the configuration)", dir, strerror(-rc));
}

/* A spool subdirectory with exactly its mode (fixed when it already exists). */
static void make_spool_dir(const struct config *cfg, const char *name, mode_t mode)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", cfg->spool, name);
	rc = make_dirs(path, mode);
	if (rc == 0 && lstat(path, &st) == 0 && (st.st_mode & 07777) != mode &&
	    chmod(path, mode) < 0)
		rc = -errno;
	if (rc == 0 && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc < 0)
		daemon_fatal("cannot create %s with mode %04o: %s", path,
			     (unsigned)mode, strerror(-rc));
}

/* The options: 0 to go on, else the exit status + 1 (--help, errors). */
static int parse_options(int argc, char **argv, const char **config_arg,
			 int *accept_errors, int *aggregate)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "accept-errors", no_argument, NULL, 'E' },
		{ "aggregate", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*config_arg = optarg;
			break;
		case 'E':
			*accept_errors = 1;
			break;
		case 'a':
			*aggregate = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("phitraild %s\n", PHITRAIL_VERSION);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static void load_config(struct config *cfg, const char *path, int accept_errors)
{
	int rc = config_load(cfg, path);

	if (rc == 0)
		return;
	daemon_error("%s", cfg->error);
	if (cfg->error_count > 1)
		daemon_error("%s: %u more error(s) after this one; fix it and run "
			     "\"phitrail policy check\" for the rest", path,
			     cfg->error_count - 1);
	/* A half-read policy means unaudited PHI: only when told so. */
	if (rc != -EINVAL || !accept_errors)
		daemon_fatal("configuration %s has errors: fix them and start "
			     "again%s", path, rc == -EINVAL ? " (or start with "
			     "--accept-errors to run on what was read)" : "");
	daemon_warn("starting on %s despite %u error(s) (--accept-errors): "
		    "what the broken lines meant is not applied", path,
		    cfg->error_count);
}

static struct pidfh *take_pidfile(const struct config *cfg)
{
	char pid_path[PATH_MAX + 8];
	struct pidfh *pidfh;
	pid_t other = -1;

	make_parent_dir(cfg->database, 0750);
	snprintf(pid_path, sizeof(pid_path), "%s.pid", cfg->database);
	pidfh = pidfile_open(pid_path, 0644, &other);
	if (pidfh == NULL) {
		if (errno == EEXIST)
			daemon_fatal("another phitraild (pid %d) is using %s: stop it, or "
				     "give this one another database", (int)other,
				     cfg->database);
		daemon_fatal("cannot create pidfile %s: %s", pid_path, strerror(errno));
	}
	if (pidfile_write(pidfh) < 0)
		daemon_fatal("cannot write pidfile %s: %s", pid_path, strerror(errno));
	return pidfh;
}

static void make_directories(const struct config *cfg)
{
	int rc;

	make_parent_dir(cfg->socket_path, 0755);
	make_parent_dir(cfg->query_socket_path, 0755);
	rc = make_dirs(cfg->spool, 0755);
	if (rc < 0)
		daemon_fatal("cannot create %s: %s", cfg->spool, strerror(-rc));
	make_spool_dir(cfg, SPOOL_DIR_ACTIVE, 0700);
	make_spool_dir(cfg, SPOOL_DIR_INCOMING, 01733);
	make_spool_dir(cfg, "quarantine", 0700);
	make_parent_dir(cfg->key_file, 0750);
}

int main(int argc, char **argv)
{
	static struct config cfg;
	extern char **environ;
	const char *config_arg = NULL, *path;
	struct pidfh *pidfh;
	int rc, status, accept_errors = 0, aggregate = 0;

	setproctitle_init(argc, argv, environ);
	rc = parse_options(argc, argv, &config_arg, &accept_errors, &aggregate);
	if (rc != 0)
		return rc - 1;
	umask(077);
	path = config_choose_path(config_arg);
	load_config(&cfg, path, accept_errors);
	if (merkle_init() < 0)
		daemon_fatal("libsodium cannot start");
	if (aggregate && !cfg.aggregate.enabled)
		daemon_fatal("--aggregate needs an [aggregate] section in %s", path);
	pidfh = take_pidfile(&cfg);
	make_directories(&cfg);
	if (cfg.aggregate.enabled)
		status = store_process_aggregate(&cfg);
	else
		status = parent_run(&cfg, pidfile_fileno(pidfh));
	pidfile_remove(pidfh);
	return status;
}
