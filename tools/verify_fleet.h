/*
 * verify_fleet.h - phitrail verify on an aggregator's central store: each
 * host's records, as the central store keeps them, against that host's
 * signed checkpoints.
 */
#ifndef PHITRAIL_VERIFY_FLEET_H
#define PHITRAIL_VERIFY_FLEET_H

#include <sqlite3.h>
#include <stddef.h>

/*
 * 0 when db is no central store, or when for every host store: its
 * checkpoints are signed by its pinned key and chained, the central copies
 * of its records rebuild the roots they sign, and every central record is
 * its host record with only id and host changed (one "ok: host" line each).
 * -EBADMSG with problem naming the host and record, -EIO.
 */
int verify_fleet(sqlite3 *db, char *problem, size_t size);

#endif
