/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the simulator's hooks (sim.h); only a build configured with
 * --enable-sim compiles it.
 */
#include "config.h"

#include "sim.h"

struct mapq__sim_hooks mapq__sim;
