/*
 * fetch_bar.h - the CLI's fetch observer: a progress bar on a terminal, retry
 * notes as warnings on stderr. The observer is static: never freed.
 */
#ifndef MAINLINE_FETCH_BAR_H
#define MAINLINE_FETCH_BAR_H

#include "error.h"
#include "fetch.h"

const struct fetch_observer *fetch_bar_observer(void);

#endif
