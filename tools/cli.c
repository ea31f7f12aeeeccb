/*
 * cli.c - the small things every verb of the phitrail command needs: usage
 * errors that say what to do next, choosing and loading the configuration
 * for verbs that only need its settings, and the clock.
 *
 * Must never: parse a verb's options or print on stdout (stdout belongs to
 * the verbs' results).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int
cli_usage_error(const char *verb, const char *format, ...)
{
	va_list ap;

	fprintf(stderr, "phitrail %s: ", verb);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'phitrail %s --help'.\n", verb);
	return CLI_EXIT_USAGE;
}

int
cli_bad_option(const char *verb, int option, char **argv)
{
	const char *text = argv[optind - 1];

	if (option == ':')
		return cli_usage_error(verb, "%s needs a value", text);
	if (optopt != 0 && strncmp(text, "--", 2) != 0)
		return cli_usage_error(verb, "unknown option -%c", optopt);
	return cli_usage_error(verb, "unknown option %s", text);
}

int
cli_config_for_settings(const char *explicit_path, struct config **cfg_out)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *path;
	int rc;

	*cfg_out = NULL;
	if (cfg == NULL) {
		warn("allocating the configuration");
		return CLI_EXIT_FAILURE;
	}
	path = config_choose_path(explicit_path);
	rc = config_load(cfg, path);
	if (rc == -EINVAL) {
		warnx("%s (%u error%s; 'phitrail policy check %s' lists them); "
		      "using its settings anyway", cfg->error, cfg->error_count,
		      cfg->error_count == 1 ? "" : "s", path);
	} else if (rc == -ENOENT && explicit_path == NULL &&
		   getenv(CONFIG_ENV) == NULL) {
		config_defaults(cfg);
	} else if (rc < 0) {
		warnx("cannot read the configuration %s: %s (give another "
		      "with --config FILE)", path, strerror(-rc));
		free(cfg);
		return CLI_EXIT_FAILURE;
	}
	*cfg_out = cfg;
	return CLI_EXIT_OK;
}

int64_t
cli_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
