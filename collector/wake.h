/*
 * wake.h - how writers that append to mapped spool files wake the
 * collector (handoff.h): a read-only shared page with an "asleep" word and
 * an eventfd the loop watches.
 */
#ifndef PHITRAILD_WAKE_H
#define PHITRAILD_WAKE_H

/*
 * Creates the sealed page and the eventfd (before the store process is
 * forked: the parent hands them out, the store process sleeps on them).
 * 0, or a negative errno (the collector then offers no mapped spool
 * files: writers append with write() and inotify wakes the collector).
 */
int wake_start(void);
/* Watches the eventfd in this process's loop (the store process's). 0 or
 * a negative errno (logged: no wake-ups, the timer still passes). */
int wake_watch(void);
void wake_stop(void);

/* 1 when mapped spool files can be offered (wake_start succeeded). */
int wake_ready(void);

/* The descriptors handed to a writer with its spool file. */
int wake_page_fd(void);
int wake_event_fd(void);

/*
 * Says whether the collector is about to sleep. wake_sleep() stores 1 then
 * a full fence: after it, a pass over the files either sees every frame a
 * writer published before reading the word, or that writer saw 1 and
 * signals the eventfd. wake_awake() stores 0 (writers stop signalling).
 */
void wake_sleep(void);
void wake_awake(void);

/* Times the eventfd woke the loop (for tests and the log). */
unsigned long long wake_signals(void);

#endif
