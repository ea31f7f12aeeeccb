/*
 * links.h - the collector's side of hard links into the PHI trees
 * (links.c): the index of multi-link PHI files it writes for the shim
 * (phi_inodes.h) and the names it keeps to complete the shim's records.
 */
#ifndef PHITRAILD_LINKS_H
#define PHITRAILD_LINKS_H

#include "config.h"
#include "record.h"

/* Walks the rule roots and writes <spool>/phi-inodes. 0 or -errno. */
int links_start(const struct config *cfg);

/* Every FOLLOW_TICK_MS: walks again once LINKS_REWALK_MS have passed. */
void links_tick(void);

/*
 * A shim record with detail.inode (a PHI file reached by a hard link):
 * end_user_id and detail.real_path filled from the name in the tree.
 * The strings stay valid until the next links_tick.
 */
void links_complete(struct record *r);

void links_stop(void);

#endif
