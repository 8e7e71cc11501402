/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the simulator's hooks (sim.h), and the names of the file's
 * shared words for its traces; only a build configured with --enable-sim
 * compiles it.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "sim.h"

_Static_assert(sizeof(struct fmt_super) <= MAPQ_SIM_SB_BYTES, "superblock fits");

struct mapq__sim_hooks mapq__sim;

struct field {
	size_t off;
	const char *name;
};

#define F(type, member)                         \
	{                                       \
		offsetof(type, member), #member \
	}
static const struct field ctl_fields[] = {
	F(struct fmt_ctl, tail),         F(struct fmt_ctl, head),
	F(struct fmt_ctl, data_seq),     F(struct fmt_ctl, data_sleepers),
	F(struct fmt_ctl, space_seq),    F(struct fmt_ctl, space_sleepers),
	F(struct fmt_ctl, crc_failures), F(struct fmt_ctl, lapped),
	F(struct fmt_ctl, lost),         F(struct fmt_ctl, reader_hwm),
	F(struct fmt_ctl, repaired),
};
static const struct field wslot_fields[] = {
	F(struct fmt_wslot, state),    F(struct fmt_wslot, pid),
	F(struct fmt_wslot, resv_pos), F(struct fmt_wslot, resv_size),
	F(struct fmt_wslot, msgs),     F(struct fmt_wslot, bytes),
	F(struct fmt_wslot, aborted),  F(struct fmt_wslot, attaches),
};
static const struct field rslot_fields[] = {
	F(struct fmt_rslot, cursor), F(struct fmt_rslot, lost),  F(struct fmt_rslot, delivered),
	F(struct fmt_rslot, state),  F(struct fmt_rslot, flags), F(struct fmt_rslot, pid),
};
#undef F

static const char *field_name(const struct field *f, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].off == off)
			return f[i].name;
	return "?";
}

static struct fmt_super super_of(const void *sb)
{
	struct fmt_super s;
	memcpy(&s, sb, sizeof(s));
	return s;
}

void mapq__sim_name(const void *sb, uint64_t off, char *buf, size_t n)
{
	struct fmt_super s = super_of(sb);
	uint64_t nw = s.writer_slots, nr = s.reader_slots;
	if (off >= s.data_off) {
		uint64_t rel = off - s.data_off;
		snprintf(buf, n, "ring+%#llx.%s", (unsigned long long)(rel & ~15ull),
			 rel % 16 == 0   ? "commit"
			 : rel % 16 == 8 ? "pos"
					 : "?");
	} else if (off >= s.rslot_off && off < s.rslot_off + nr * sizeof(struct fmt_rslot)) {
		uint64_t i = (off - s.rslot_off) / sizeof(struct fmt_rslot);
		snprintf(buf, n, "rslot%llu.%s", (unsigned long long)i,
			 field_name(rslot_fields, sizeof(rslot_fields) / sizeof(rslot_fields[0]),
				    (off - s.rslot_off) % sizeof(struct fmt_rslot)));
	} else if (off >= s.wslot_off && off < s.wslot_off + nw * sizeof(struct fmt_wslot)) {
		uint64_t i = (off - s.wslot_off) / sizeof(struct fmt_wslot);
		snprintf(buf, n, "wslot%llu.%s", (unsigned long long)i,
			 field_name(wslot_fields, sizeof(wslot_fields) / sizeof(wslot_fields[0]),
				    (off - s.wslot_off) % sizeof(struct fmt_wslot)));
	} else if (off >= s.ctl_off && off < s.ctl_off + FMT_PAGE) {
		snprintf(buf, n, "ctl.%s",
			 field_name(ctl_fields, sizeof(ctl_fields) / sizeof(ctl_fields[0]),
				    off - s.ctl_off));
	} else {
		snprintf(buf, n, "@%llu", (unsigned long long)off);
	}
}

void mapq__sim_value_name(const void *sb, uint64_t off, uint64_t v, char *buf, size_t n)
{
	static const char *const states[] = { "none", "claimed", "committed", "aborted" };
	struct fmt_super s = super_of(sb);
	buf[0] = 0;
	if (off < s.data_off || (off - s.data_off) % 16 != 0 || v == 0)
		return;
	/* a commit word: doc/format.md, "Frames" */
	snprintf(buf, n, "%s%s%s, %llu bytes, lap tag %#llx", states[(v >> 32) & 3],
		 v & (1ull << 34) ? " padding" : "", v & CW_FORSAKEN ? " forsaken" : "",
		 (unsigned long long)((v & 0xffffffffu) * FRAME_UNIT),
		 (unsigned long long)(v >> 36));
}
