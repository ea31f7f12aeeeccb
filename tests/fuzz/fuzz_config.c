/*
 * fuzz_config.c - config_load_string on arbitrary text. Loading never
 * crashes; an error message always names the file and a line; a loaded
 * configuration's counts stay within their limits and every rule index is
 * valid; matching a few paths against it never crashes.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static const char *const paths[] = {
		"/", "/srv/ehr/patients/4711/chart.txt", "/a/b/c", "/tmp",
	};
	char patient[64];
	size_t i;
	int rc;

	rc = config_load_string(&cfg, "fuzz.conf", (const char *)data, size);
	if (rc != 0) {
		assert(rc == -EINVAL);
		assert(cfg.error_count > 0);
		assert(strncmp(cfg.error, "fuzz.conf:", 10) == 0);
		return 0;
	}
	assert(cfg.error_count == 0 && cfg.error[0] == '\0');
	assert(cfg.rule_count <= CONFIG_MAX_RULES);
	assert(cfg.pattern_count <= CONFIG_MAX_PATTERNS);
	assert(cfg.address_count <= CONFIG_MAX_ADDRESSES);
	/* [forward] and [aggregate]: present ones have servers, numbers in range */
	assert(!cfg.forward.enabled || cfg.forward.servers[0] != '\0');
	assert(!cfg.aggregate.enabled || cfg.aggregate.servers[0] != '\0');
	assert(cfg.forward.stall_s >= 1 && cfg.forward.replicas >= 1 &&
	       cfg.forward.replicas <= 5 && cfg.forward.max_pending >= 1 &&
	       cfg.forward.max_pending <= 65536);
	assert(strlen(cfg.forward.servers) < sizeof(cfg.forward.servers));
	assert(strlen(cfg.aggregate.password) < sizeof(cfg.aggregate.password));
	for (i = 0; i < cfg.pattern_count; i++)
		assert(cfg.patterns[i].rule < cfg.rule_count);
	for (i = 0; i < cfg.address_count; i++)
		assert(cfg.addresses[i].rule < cfg.rule_count);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int r = config_match_path(&cfg, paths[i], patient, sizeof(patient));

		assert(r >= -1 && r < (int)cfg.rule_count);
		assert(strlen(patient) < sizeof(patient));
	}
	return 0;
}
