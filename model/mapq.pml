/* SPDX-License-Identifier: MIT */
/*
 * model/mapq.pml - the protocol of doc/format.md (format version 2), for
 * spin: writers, a reader that is also the repairer, over a ring of a few
 * frames, in every interleaving, with any writer dying at any step.
 *
 * What is modelled, and how (the names are the C code's and
 * doc/format.md's; each labelled step is one atomic access there):
 *
 *   - every frame is one slot long (no wrap in the middle of a frame), so
 *     position p lives in slot p % NSLOT, and its lap tag is p / NSLOT;
 *     padding is one slot too (-DPAD); but for -DSENDBATCH's: what a
 *     repair aborts or forsakes
 *     of a batch's reservation is one frame of two slots (a word with a
 *     size, the second slot inside it), which may wrap round the ring's
 *     end as no C frame does (the C batch never crosses it);
 *   - a slot holds the frame's `pos`, its commit word (state, forsaken
 *     bit, lap tag) and its payload, written with a plain store of its own
 *     (a step others can see half done: before or after);
 *   - a writer's record is resv_pos and resv_size's flags (tentative,
 *     forsaken, publishing), read whole (load_record()'s seqlock);
 *   - a stalled writer is a writer the repairer forsakes: the unblock
 *     timeout is a choice the repairer may make at any time while the
 *     frame is unpublished, so every stall of any length is covered;
 *   - a dead writer: `unless` lets the writer stop before any step, and
 *     its liveness lock is released then (alive[w] false); with
 *     -DNO_DEATHS nobody dies (stalls, the repairs of live writers'
 *     frames, remain), a smaller space where a lap of stalls fits;
 *   - memory is sequentially consistent: every atomic step is seen by all
 *     at once. Weaker orders are the simulator's (mapq-sim --memory);
 *   - with -DWAKEUPS, waits are sleeps (mapq__waiter_block(): the futex
 *     word read, the sleeper flag raised, a look again, the sleep) and
 *     commits, repairs and the reader's advance wake (wake()), with no
 *     deaths and no stalls: every sleep then ends by a wake-up alone,
 *     where the C code also looks again now and then. Without it, waits
 *     are busy and anyone may die or stall;
 *   - with -DOVERWRITE, the overwrite policy: a writer that needs the
 *     frame at head pushes a reader still on it past it, then counts the
 *     message it loses (pass_readers(): two steps), and the reader moves
 *     its cursor on by CAS, discarding what it read if it was pushed
 *     meanwhile;
 *   - with -DABORTS, a writer may take any message back (mapq_abort()):
 *     the same settle as a commit, publishing the frame aborted, and
 *     nothing acknowledged;
 *   - with -DJOIN, a second reader joins at the oldest frame while the
 *     writers go on (reader.c, Join: its cursor from head, its state
 *     stored, head_intent and head loaded, the cursor raised to the
 *     furthest), and a head mover under the blocking policy takes the
 *     steps of ring.c for it: the scan and walk, the intent (a max), the
 *     second scan, the CAS; every scan loads reader_hwm first, and sees
 *     the joiner's slot only once the joiner has raised it (before its
 *     state store). The joiner takes a message, releases it by
 *     CAS, and must find what it held as written until then. With
 *     -DOVERWRITE too, the head mover pushes the joiner as it does the
 *     first reader (its losses are counted with -DJOIN_LOSSES: the
 *     push, then the count, and the joiner reports them before its next
 *     read) and after its CAS lifts a joiner its push missed
 *     (mapq__lift_readers());
 *   - with -DTAKEOVER, a writer that dies is succeeded: a new writer
 *     takes its slot's lock (free once the owner died), settles the dead
 *     owner's reservation (mapq__repair_record(), looked at again while
 *     its frame moves, the slot left and taken again while a live rival's
 *     tentative record for the same space is unsettled), clears the
 *     record, sends a message of its own after the dead owner's, and
 *     detaches (its lock released); a writer that finishes detaches too;
 *   - with -DRESUME, the reader is durable: it may close between two
 *     reads and come back (MAPQ_START_RESUME) once (-DRESUMES=N: up to
 *     N times), its slot DETACHED
 *     in between (holding writers back) and ACTIVE again, its cursor
 *     raised to head if behind (which the blocking policy never lets
 *     happen);
 *   - with -DLEAVE, the reader may close between any two reads (an
 *     ephemeral reader's mapq_reader_close(): its slot made free, then
 *     the writers it held back woken) and read no more;
 *   - with -DSENDBATCH, writer 0 sends its first two messages with one
 *     mapq_send_batch(): one reservation of two frames (a record of two,
 *     tail moved by two), confirmed straight to publishing, each frame
 *     published as it is copied (its payload, its word, its pos), the
 *     fault point commit.batch_next between them, the record cleared
 *     after both. Writer 1 sends one message fewer than MSGS. A repair
 *     takes a confirmed record to cover the first unfinished position in
 *     it, found by the walk of repair.c (from head when head is inside
 *     it, over finished frames: one step here), and publishes the rest of
 *     the reservation as one frame; without a confirmed owner, the
 *     tentative record with the smallest visible end is the candidate
 *     (visible_boundary()), and only records of its size are marked;
 *     with -DCRASH too, the crash may come in the middle of a batch, and
 *     recovery walks over what a repair made one frame of two slots;
 *     with -DWAKEUPS too, the batch wakes sleepers once, after its last
 *     frame's pos (clear_record()), and a writer sleeps for the space of
 *     its whole reservation; with -DRDEATH too, the reader may die instead
 *     of a writer, a batch's frames or a repair's two-slot frame at head
 *     when the writers reap it; with -DALONE too, the writer alone sends
 *     the batch (its record publishing from the start, tail by a store);
 *     with -DABORTS too, any message but the batch's may be taken back
 *     (mapq_send_batch() has no abort); with -DRESUME or -DLEAVE (and
 *     -DWAKEUPS) too, the reader may close and come back, or leave; with
 *     -DBATCH too, the reader reads two frames before one release, and
 *     passes a repair's two-slot frame whole;
 *   - with -DPAD, writer 0's first message is a reservation that would
 *     cross the ring's end: padding to the end, then the frame (writer.c,
 *     try_reserve()), a reservation of two slots wherever it falls here,
 *     the first the padding's (a committed word with the padding bit,
 *     PADDING, which readers and head pass and which carries no
 *     message), the record's size covering both. The claim hint and the
 *     payload go to the frame; once the record is publishing (the settle,
 *     or the confirmation of an early message), the padding's word and
 *     pos (publish_pad(): pad.before_word, pad.before_pos), then the
 *     frame's. A repair takes the record to cover both its start and its
 *     frame part (record_covers(), frame_owner(), resv_unfinished()),
 *     and finishes such a reservation padding first (finish(): the
 *     padding's word by CAS, as any repair's, then the frame); a writer
 *     that abandons its forsaken reservation does the same. With
 *     -DNO_DEATHS, -DCRASH, -DWAKEUPS, -DABORTS, -DALONE, -DRDEATH or
 *     -DOVERWRITE too (a writer pushes the reader past padding as past
 *     any frame at head, and counts no loss for it);
 *   - with -DRDEATH, the reader (ephemeral) may die at any step instead
 *     of a writer, its liveness lock released then; a writer held back
 *     by its cursor frees its slot (ring.c, reap_dead_reader(): the lock
 *     asked, then the state's CAS from ACTIVE to FREE) and goes on; with
 *     -DRDURABLE too, the reader is durable: the reap makes its slot
 *     DETACHED, which goes on holding writers back, and the reader comes
 *     back (mapq_reader_open(MAPQ_START_RESUME), its lock taken again,
 *     the slot ACTIVE, a cursor behind head raised to it) and reads on,
 *     perhaps handing out again the message it held when it died; with
 *     -DWAKEUPS too (the reader ephemeral), a writer asleep for space
 *     wakes on its own only to find a dead reader (its sleep is bounded:
 *     writer.c, the next look after mapq__poll.space_ns), never while the
 *     reader lives, and one that frees the dead reader's slot wakes the
 *     writers asleep for space (reap_dead_reader());
 *   - with -DSYNC, a process calls mapq_sync() at any moment (SYNCS of
 *     them at once with -DSYNCS=N): tail read as its end, then
 *     wait_finished() from head to the end (each frame's pos and word,
 *     head again, a dead writer's frame repaired, a live one's forsaken
 *     after the timeout or waited for; with -DSYNC_FORSAKES=false only
 *     the reader forsakes), the flush of the
 *     data, which may fail, the sync lock, which may fail (os.lock), the
 *     checkpoint under it (never back: the newest stands for ours if it is
 *     at or past our end and not past tail), its flush, which may fail
 *     (os.msync); the filler frame that puts later frames on a fresh page
 *     is left out (it matters to a power cut's pages, not modelled), and
 *     so is the syncer's death (it holds nothing here); a crash with it
 *     is not a mode (1x1x2 passed 85 million states at 4 GB);
 *   - with -DCRASH, everyone may die at once at any step; then the next
 *     to open the queue recovers it alone (recover_exclusive(): the walk,
 *     claims aborted, dead writers' reservations finished, records
 *     cleared, tail, the cursor), possibly dying once at any step of that
 *     too, and the durable reader, restarted at its cursor, reads on.
 *
 * Each assertion names the property it checks, PROP1 to PROP7, as the first
 * term of its expression (always true, below), so that pan's report of a
 * failed one says which: scripts/model.py's PROPERTIES says what each is, and a
 * process stuck for ever (an invalid end state) breaks PROP5.
 *
 * Checked: a delivered message is committed and carries exactly the
 * payload its writer wrote for that position (no torn, no stale bytes of
 * an earlier lap); each writer's acknowledged messages are delivered
 * once, in order, and none that was not acknowledged as committed; the
 * reader always reaches the end once every writer is finished or dead (no
 * frame blocks it for ever: spin's end states); no late store of a
 * forsaken writer lands in a frame of a later lap. With -DWAKEUPS: no
 * wake-up is lost (a process asleep for ever is an invalid end state).
 * With -DJOIN: the joiner's release always succeeds, what it held is
 * intact until then (no writer overwrites a frame a reader holds, nor
 * does head pass it), and it delivers every acknowledged message from
 * where it started, once, in order. With -DJOIN and -DOVERWRITE: what it
 * delivers (a release that succeeded) is as written, once, in order, and
 * it is never left behind head with nobody to move it on (an invalid end
 * state).
 * With -DLEAVE and -DWAKEUPS: a writer held back by the reader when it
 * closed is woken (none asleep for ever), and the writers finish.
 * With -DSENDBATCH: the same checks, for both messages of the batch
 * (with -DWAKEUPS: no sleeper is left asleep by a batch's one wake-up;
 * BUG_BATCH_WAKE_FIRST wakes after its first frame instead);
 * and in every configuration, once every writer is finished or dead, a
 * repair never meets space below tail that no record describes (the C
 * code fills it as unknown after the timeout: never needed without a
 * power cut; BUG_BATCH_NO_WALK and BUG_BATCH_WALK_FROM_START leave
 * such a hole after a dead batch writer's finished frames;
 * BUG_PAD_COVERS_START, a record taken to cover its start alone, leaves
 * one after a writer that died between its padding and its frame).
 * With -DPAD: the same checks, and no store of the padding lands in
 * space head has passed (an assertion at the padding's word, as at the
 * payload's): BUG_PAD_EARLY publishes the padding as soon as the space
 * is the writer's, before the settle, and a stalled writer's late
 * padding lands after a repairer that forsook it published the same and
 * head passed it (the simulator found it in the C code, version 1).
 * With -DRDEATH: a dead reader holds no writer back for ever (the
 * writers finish: spin's end states), and a live one is never reaped
 * (what it delivers is as written, and every acknowledged message once
 * it lives to the end). With -DRDURABLE too: the dead durable reader's
 * slot holds writers back until it comes back (head never passes its
 * cursor: BUG_REAP_DURABLE_FREE frees it, and acknowledged messages are
 * lost), and it delivers every acknowledged message in order, once, but
 * for the one it held when it died, which it may hand out again after
 * it came back. With -DWAKEUPS too: no writer sleeps for ever behind a
 * dead reader (BUG_SPACE_SLEEP_UNBOUNDED: a sleep for space that only a
 * wake-up ends, as a sleep for data is, and the reader that would have
 * woken it died), and none behind a live one (its wake-ups are the only
 * way out of a sleep while it lives).
 * With -DTAKEOVER: the same for the successor's messages, and no late
 * store of the live writer whose frame a successor settled lands in a
 * later lap (the successor aborted a live winner's forsaken frame on
 * the strength of a dead loser's tentative record, before
 * mapq__repair_record() asked for the frame's owner: BUG_TAKEOVER_ABORT).
 * A repairer's marking reads each record in load_record()'s three steps,
 * and looks again at one that changed between them; passing it over
 * (BUG_MARK_SKIPS_BUSY, the C code until the simulator found it) left
 * the owner unmarked under the forsaken frame, and its commit was lost.
 * With -DOVERWRITE: every acknowledged message is delivered or counted
 * lost, never both, but for one whose pusher died between its push and
 * its count (a gap the model shows, not fixed), the counts the
 * reader is told add up, and only a message is counted lost (with
 * -DPAD: BUG_PAD_COUNTED_LOST takes padding for a message by its
 * word's state, committed, and counts it). With
 * -DCRASH: the recovered log holds finished frames only, and every
 * message acknowledged before the crash is delivered, as written, in
 * order, the one the reader held when it died perhaps once more, and
 * recovery's scrub finds nothing to clear (no frame of a later lap past
 * the end or in the log: only a power cut leaves one).
 * With -DSYNC: when a sync flushes, every frame from head to its end is
 * published at its position (the image is a log up to the end:
 * BUG_SYNC_WORD_ONLY judges a frame by its word, before its pos is
 * there); a checkpoint is written only after a flush that succeeded
 * reached its end (BUG_CKPT_FAILED_FLUSH ignores the flush's error), and
 * once a sync returned 0 the newest checkpoint is at or past its end for
 * good (BUG_CKPT_BACK moves it back).
 *
 * Labels named as fault points (src/fault.h, a dot for the first
 * underscore) are the steps those points stop at; tests/model_labels.sh
 * checks that each fault point is one, or is listed here:
 *
 * not modelled: os.open os.mmap os.calloc
 * (the opener's system calls before it touches the file: a failure there
 * changes nothing shared; no padding beside a batch of sends, a joiner or
 * a successor, no batch of sends of more than two frames, no counters but
 * the lost ones, no power cut: recovery finds every store made and has
 * nothing to scrub, and a sync's flush and checkpoint are steps whose
 * effect on a disk is not modelled, only what they promise)
 */

#ifndef NW
#define NW 2 /* writers */
#endif
#ifndef MSGS
#define MSGS 2 /* messages each writer sends */
#endif
#ifndef NSLOT
#define NSLOT 2 /* frames in the ring */
#endif
#define NPOS (NW * MSGS + SMSGS + PADS) /* positions ever reserved */

/* frame states (format.h) */
#define NONE 0
#define CLAIMED 1
#define COMMITTED 2
#define ABORTED 3
#define PADDING 4 /* a committed word with the padding bit: no message */

/* record flags (resv_size's high bits) */
#define R_TENT 1
#define R_FORSAKEN 2
#define R_PUBLISHING 4

/* "Publish early": a small mapq_send() confirms its record straight to
 * publishing, and its commit makes no settle CAS; the others (larger
 * ones, mapq_reserve()'s) publish late. Which kind a message is depends
 * on its writer and number, not on a choice, so that the states do not
 * double: every other message of each writer, and writers 0 and 1 start
 * with different kinds (in a writer's process, w and s are its own). */
#define EARLY ((w + s) % 2 == 1)

#define NOPOS 255

#ifdef TAKEOVER
#define SMSGS 1 /* messages a dead writer's successor sends */
#else
#define SMSGS 0
#endif
#ifdef PAD
#define PADS 1 /* positions of padding */
#define PADN (resn - 1) /* in a writer: the padding before its frame */
#else
#define PADS 0
#define PADN 0
#endif

/* The properties the assertions check (above): true constants that pan
 * prints as they are, (4==4) for PROP4. Not variables: an assertion that
 * read one would read a global, and the partial order reduction would no
 * longer take it for a step of its process alone. */
#define PROP1 (1 == 1)
#define PROP2 (2 == 2)
#define PROP3 (3 == 3)
#define PROP4 (4 == 4)
#define PROP5 (5 == 5)
#define PROP6 (6 == 6)
#define PROP7 (7 == 7)

typedef slot_t {
	byte pos;   /* the position published here, NOPOS: none yet */
	byte state; /* the commit word: state ... */
	bool forsaken;
	byte lap;     /* ... and lap tag */
#ifdef SENDBATCH
	byte size; /* ... and size, in frames: 2 for the rest of a batch's reservation */
#endif
	byte payload; /* writer * 16 + seq + 1; 0: none */
};

typedef record_t {
	bool used; /* resv_size != 0 */
	byte pos;
	byte flags;
#if defined(SENDBATCH) || defined(PAD)
	byte n; /* slots reserved (resv_size): 2 for a batch, or padding and a frame */
#endif
};

slot_t slot[NSLOT];
record_t rec[NW];
/* A record as one word, as resv_size is: its flags, and R_USED if it is
 * one (resv_size not 0). */
#define R_USED 8
#define RECORD(i) (rec[i].used -> (rec[i].flags | R_USED) : 0)
byte tail = 0;
byte head = 0;
byte cursor = 0; /* the one reader's */
bool alive[NW];
bool done[NW];
bool unsettled = false; /* repair(): REPAIR_UNSETTLED, for the successor */
#ifdef TAKEOVER
/* The slot's first owner was killed: a dead process never comes back,
 * though its slot's lock (alive[w]) is taken again by a successor. */
bool gone[NW];
#endif

/* The futex words and their sleeper flags (wait.c): a commit or a repair
 * bumps data_seq for sleepers on data (the reader), a reader's advance
 * space_seq for writers held back by it. Only a waker that takes a flag
 * bumps. A word is 32 bits and never comes back to a value a sleeper read
 * in the time it sleeps, so what a sleeper compares is whether the word
 * was bumped since it read it: one bit per sleeper, which keeps the
 * state space from counting bumps. */
#ifdef WAKEUPS
/* publish() finished a frame: wake (not for padding, which finish()
 * publishes without a wake-up: the frame after it wakes) */
#define PUBD pubd = (nstate != PADDING)
bool data_bumped[NW + 1]; /* each writer's, then the reader's */
bool space_bumped[NW];    /* each writer's */
bool data_flag = false;
bool space_flag = false;
#else
#define PUBD skip
#endif

/* ghosts: what the checks compare against */
byte wrote[NPOS]; /* the payload the owner of position p wrote, when it settled */
bool acked[NPOS]; /* the commit at p reported done to its writer */
bool got[NPOS];   /* the reader delivered the message at p */
byte last[NW];    /* the last seq delivered of each writer, +1 */

#ifdef JOIN
#if defined(WAKEUPS) || defined(CRASH) || defined(ABORTS)
#error "JOIN goes with the blocking policy or OVERWRITE only"
#endif
/* The joiner's slot (state, cursor) and the control page's head_intent;
 * ghosts: where it started, what it delivered. */
bool active2 = false;
byte cursor2 = 0;
/* reader_hwm: every scan of the reader slots stops at it (ring.c,
 * reader_hwm()); the first reader's slot, 0, is below it from the start,
 * and the joiner's, 1, once the joiner raises it (reader.c, raise_hwm()) */
byte hwm = 1;
byte intent = 0;
byte start2 = NOPOS;
bool got2[NPOS];
byte last2[NW];
#endif

#if defined(RDURABLE) && !defined(RDEATH)
#error "RDURABLE is a kind of RDEATH"
#endif

#ifdef RESUME
#if defined(CRASH) || defined(OVERWRITE) || defined(JOIN) || defined(TAKEOVER) || defined(LEAVE) || \
	defined(RDEATH)
#error "RESUME goes with the blocking policy alone (RDURABLE is a durable reader's death)"
#endif
/* How often the durable reader detached and came back, at most RESUMES
 * times (1 unless -DRESUMES=N); rbusy: its slot BUSY on the way back (the
 * bug only: BUSY is skipped by head movers). */
#ifndef RESUMES
#define RESUMES 1
#endif
byte resumed = 0;
bool rbusy = false;
#define PASSED(h) (rbusy || cursor > (h))
#elif defined(LEAVE)
#if defined(CRASH) || defined(OVERWRITE) || defined(JOIN) || defined(TAKEOVER) || defined(RDEATH)
#error "LEAVE goes with the blocking policy, with or without WAKEUPS"
#endif
/* The reader (ephemeral) closed: its slot is free and holds nobody back. */
bool left = false;
#define PASSED(h) (left || cursor > (h))
#elif defined(RDEATH)
#if defined(CRASH) || defined(OVERWRITE) || defined(JOIN) || defined(TAKEOVER)
#error "RDEATH goes with the blocking policy alone"
#endif
#if defined(RDURABLE) && defined(WAKEUPS)
#error "RDURABLE goes without WAKEUPS"
#endif
/* The reader died (its lock released: ralive false), and its slot was
 * reaped: free, it holds nobody back. */
bool ralive = true;
bool reaped = false;
#define PASSED(h) (reaped || cursor > (h))
#ifdef RDURABLE
#ifdef BATCH
#error "RDURABLE goes without BATCH"
#endif
/* The durable reader's slot was reaped: DETACHED, still holding writers
 * back (reaped stays false but for the bug); and the ghost of the
 * position it held when it died + 1, whose message it may hand out once
 * more after it came back (0: none). */
bool detached = false;
byte again = 0;
#endif
#else
#define PASSED(h) (cursor > (h))
#endif

#ifdef CRASH
/* Everyone dies at once (a machine crash), and the queue is recovered
 * exclusively by the next process to open it, which may itself die
 * during the recovery once: the one after it recovers again. */
bool crashed = false;
bool recovery_dies = false;
#define CRASHED crashed
#else
#define CRASHED false
#endif

#ifdef OVERWRITE
/* The overwrite policy: writers never wait for the reader, they push its
 * cursor past the frame at head and count the message it loses. */
byte lost = 0;      /* the reader slot's count, not yet reported */
byte reported = 0;  /* what the reader was told it lost (-MAPQ_ELAPPED) */
bool lostset[NPOS]; /* ghost: the message at p was counted lost */
/* ghost: the reader was pushed past the message at p by writer
 * uncounted[p] - 1, which has not counted it yet. The count is a step
 * after the push, as in the C code (pass_readers()): a writer that dies
 * between the two never counts it, and the reader is told of one loss
 * fewer than it had (doc/format.md, "Move head"; not fixed). */
byte uncounted[NPOS];
#ifdef JOIN_LOSSES
/* The joiner's, alike; and the ghost of where a lift last moved it to:
 * what it passed was never the joiner's (it joined after those frames'
 * push), neither delivered nor counted. */
byte lost2 = 0;
byte reported2 = 0;
bool lostset2[NPOS];
byte uncounted2[NPOS];
byte lift2 = 0;
#endif
#endif

#define SLOT(p) slot[(p) % NSLOT]
#define LAP(p) ((p) / NSLOT)

#ifdef SENDBATCH
#if defined(OVERWRITE) || defined(JOIN) || defined(TAKEOVER)
#error "SENDBATCH goes with the blocking policy: not with overwrite, a joiner or a successor"
#endif
#ifdef PAD
#error "PAD goes without SENDBATCH (a batch never crosses the ring's end)"
#endif
#if NSLOT < 2
#error "SENDBATCH needs two frames at least"
#endif
/* mapq_send_batch(): writer 0 sends its first two messages as one batch,
 * a reservation of two frames (the others, one frame each) */
#define SBATCH (w == 0 && s == 0 && s_end >= 2)
/* writer 1 sends one message fewer: it finishes while writer 0's batch
 * may still be unfinished, so that a hole no repair can fill is seen by
 * the check in repair() (whose busy waits would otherwise go round for
 * ever, unseen by a search for invalid end states) */
#define WMSGS(i) ((i) == 1 && MSGS > 1 -> MSGS - 1 : MSGS)
/* a frame's size, in frames; what publish() gives the word it publishes */
#define FSIZE(p) SLOT(p).size
#define SET_SIZE(p, v) SLOT(p).size = (v)
/* the size the caller of publish() gives its word: a local of each
 * process that publishes, set before the call (an inline's argument is
 * text, and would be read again at each use) */
#define PSZ psz
#define RN(i) rec[i].n
/* Is position p + 1, the second frame of the batch record i, the first
 * unfinished one of it (repair.c, resv_unfinished())? The walk starts at
 * head when head is inside the reservation, else at its start, and goes
 * over finished frames: so when head has passed the first frame, or the
 * first frame is finished. One step here, as head's walk is. */
#if defined(BUG_BATCH_NO_WALK)
/* bug: a record covers its start alone: a dead batch writer's hole after
 * its finished frames has no record, and nobody repairs it */
#define WALKS_TO_SECOND(i) false
#elif defined(BUG_BATCH_WALK_FROM_START)
/* bug: the walk from the reservation's start whatever head is: once the
 * first frame is read and its space taken by the next lap, the walk
 * stops there, and the hole after it has no record (mapq-sim found it) */
#define WALKS_TO_SECOND(i) FINISHED(rec[i].pos)
#else
#define WALKS_TO_SECOND(i) (head > rec[i].pos || FINISHED(rec[i].pos))
#endif
/* Does the (confirmed) record i cover the unfinished space at p? */
#define COVERS(i, p) (rec[i].pos == (p) || (RN(i) == 2 && (p) == rec[i].pos + 1 && WALKS_TO_SECOND(i)))
/* Does the tentative record i cover it? Its start alone (a batch has no
 * padding) */
#define TCOVERS(i, p) (rec[i].pos == (p))
#else
#define SBATCH false
#define WMSGS(i) MSGS
#define PSZ 1
#define FSIZE(p) 1
#define SET_SIZE(p, v) skip
#ifdef PAD
#if defined(JOIN) || defined(TAKEOVER) || defined(BATCH)
#error "PAD goes without a joiner, a successor or batched reads"
#endif
#if NSLOT < 2
#error "PAD needs two frames at least"
#endif
/* A reservation that would cross the ring's end starts with padding to
 * the end (writer.c): writer 0's first message here, wherever it falls,
 * a reservation of two slots, the padding's and the frame's */
#define PADDED (w == 0 && s == 0)
#define RN(i) rec[i].n
/* Does record i cover the unfinished space at p (record_covers())? Its
 * start, or its frame part after the padding, where resv_unfinished()
 * starts (one frame: nothing to walk over), tentative or not; and so
 * does frame_owner() match a published claim there. */
#ifdef BUG_PAD_COVERS_START
/* bug: the record's start alone, as if it had no padding: a writer that
 * died after its padding's pos leaves a frame no record covers */
#define COVERS(i, p) (rec[i].pos == (p))
#else
#define COVERS(i, p) (rec[i].pos == (p) || (RN(i) == 2 && (p) == rec[i].pos + 1))
#endif
#define TCOVERS(i, p) COVERS(i, p)
/* the locals of a repair: the start and size of the reservation it
 * finishes */
#define PAD_LOCALS byte bpos, bn;
#define RPOS bpos
#else
#define PADDED false
#define RN(i) 1
#define COVERS(i, p) (rec[i].pos == (p))
#define TCOVERS(i, p) (rec[i].pos == (p))
#endif
#endif
#ifndef PAD_LOCALS
#define PAD_LOCALS
#define RPOS p
#endif
/* Is b where a frame or reservation starts, or the tail (repair.c,
 * visible_boundary())? */
#define VISIBLE(b) ((b) == seen_tail || ((b) < seen_tail && (SLOT(b).pos == (b) || \
	(rec[0].used && rec[0].pos == (b)) || (NW > 1 && rec[NW - 1].used && rec[NW - 1].pos == (b)))))
#define PUBLISHED(p) (SLOT(p).pos == (p) && SLOT(p).lap == LAP(p) && SLOT(p).state != NONE)
/* Is position n the second slot of a published two-slot frame? */
#ifdef SENDBATCH
#define INSIDE(n) ((n) > 0 && PUBLISHED((n) - 1) && FSIZE((n) - 1) == 2)
#else
#define INSIDE(n) false
#endif
#define FINISHED(p) (PUBLISHED(p) && (SLOT(p).state == COMMITTED || SLOT(p).state == ABORTED || \
	SLOT(p).state == PADDING))
#define ALLDONE (done[0] && (NW < 2 || done[1]))

/* wake() of wait.c, after the waker's seq_cst change: the flag's load,
 * its exchange (only the waker that takes it bumps), the bump and the
 * FUTEX_WAKE (one step: a sleeper's futex compare sees the bump or is
 * woken by the call). */
inline wake_data()
{
#ifdef WAKEUPS
	if
	:: data_flag ->
		atomic { took = data_flag; data_flag = false }
		if
		:: took -> d_step { data_bumped[0] = true; data_bumped[NW - 1] = true; data_bumped[NW] = true }
		:: else -> skip
		fi;
		took = false
	:: else -> skip
	fi
#else
	skip
#endif
}

/* The same for space: every writer asleep on it is woken. */
inline wake_space()
{
#ifdef WAKEUPS
	if
	:: space_flag ->
		atomic { took = space_flag; space_flag = false }
		if
		:: took -> d_step { space_bumped[0] = true; space_bumped[NW - 1] = true }
		:: else -> skip
		fi;
		took = false
	:: else -> skip
	fi
#else
	skip
#endif
}

/* mapq__waiter_block(): read the word, raise the flag (seq_cst), look
 * again at what we wait for (@ready), and only then sleep, while the word
 * still holds what we read. @more: what else ends the sleep in the model
 * (a poll that finds a death; the end of the run). */
inline sleep_on(bumped, flag, ready, more)
{
#ifdef BUG_SEEN_AFTER_FLAG
	/* bug: the word read after the flag (a waker that took the flag
	 * bumped it already; the next waker finds no flag) */
	flag = true;
	bumped = false;
#else
	bumped = false; /* the word read */
	flag = true;    /* mapq__sleeper_set() */
#endif
	if
	:: ready -> skip
	:: else ->
futex_wait:	(bumped || more)
	fi
}

/* What ends a writer's sleep for space besides a wake-up: with -DRDEATH,
 * its next look finding the reader dead (writer.c: the sleep is bounded
 * for that alone). Nothing else: a look that ended a sleep while the
 * reader lives would hide a lost wake-up. */
#if defined(RDEATH) && !defined(BUG_SPACE_SLEEP_UNBOUNDED)
#define SPACE_LOOK (!ralive)
#else
#define SPACE_LOOK false
#endif

/*
 * publish_word() and finish() of repair.c, for the frame at position p
 * whose owner's record was marked (or who is dead): the word made nw (a
 * forsaken claim, or aborted) by CAS over what was there, then pos by CAS.
 * A word already ours (the writer's claim hint, or another repairer's
 * word) has its pos helped in. Each arrow is one atomic step.
 */
inline publish(p, nstate, nforsaken)
{
	d_step {
		seen_pos = SLOT(p).pos;
		seen_state = SLOT(p).state;
		seen_forsaken = SLOT(p).forsaken;
		seen_lap = SLOT(p).lap;
	}
	if
	:: seen_pos == p && seen_lap == LAP(p) && seen_state != NONE ->
		/* published: finish it (a claim only, of the size we mean:
		 * finish() leaves any other as not the frame it thinks) */
		atomic {
			if
			:: SLOT(p).pos == p && SLOT(p).state == CLAIMED && SLOT(p).lap == LAP(p) &&
			   SLOT(p).state == seen_state && SLOT(p).forsaken == seen_forsaken &&
			   FSIZE(p) == PSZ && !(seen_forsaken && nforsaken && nstate == CLAIMED) ->
finish_cas_word:	SLOT(p).state = nstate;
				SLOT(p).forsaken = nforsaken;
				PUBD
			:: else -> skip
			fi
		}
	:: else ->
		if
		:: head > p -> skip /* passed: someone finished it */
		:: else ->
			if
			:: seen_lap == LAP(p) && seen_state != NONE ->
				/* a word of this lap is there (a hint, or another
				 * repairer's): help its pos in, if it is of the size
				 * we mean (own_word()) */
				atomic {
					if
					:: SLOT(p).pos == seen_pos && FSIZE(p) == PSZ ->
help_pos:				SLOT(p).pos = p
					:: else -> skip
					fi
				}
			:: else ->
#ifdef BUG_REPAIR_HEADER
				/* bug: the repairer's header, a plain store before
				 * its CAS (97b5c4f's fix: only the CAS winner wrote
				 * one; version 2's repairers write none): it lands
				 * whoever wins, over the owner's header if the owner
				 * published meanwhile. The payload stands for the
				 * header here, which the reader's CRC check reads. */
bug_header:			SLOT(p).payload = 0;
#endif
				atomic {
					if
					:: SLOT(p).pos == seen_pos && SLOT(p).state == seen_state &&
					   SLOT(p).lap == seen_lap && SLOT(p).forsaken == seen_forsaken ->
repair_before_cas:					SLOT(p).state = nstate;
						SLOT(p).forsaken = nforsaken;
						SLOT(p).lap = LAP(p);
						SET_SIZE(p, PSZ);
						PUBD
					:: else -> skip
					fi
				}
				atomic {
					if
					:: SLOT(p).pos == seen_pos && SLOT(p).lap == LAP(p) &&
					   SLOT(p).state == nstate ->
repair_before_pos:					SLOT(p).pos = p
					:: else -> skip
					fi
				}
			fi
		fi
	fi;
#ifdef WAKEUPS
	/* counted_wake(): whoever waits at the frame */
	if
	:: pubd -> wake_data()
	:: else -> skip
	fi;
#endif
	/* locals back to 0, so that states differing only in them merge */
	d_step { seen_pos = 0; seen_state = 0; seen_forsaken = false; seen_lap = 0; pubd = false }
}

/* finish() of a reservation: its padding first, if it has one (the same
 * whoever writes it), then its frame part; without -DPAD, the frame at p */
#ifdef PAD
inline publish_resv(p, nstate, nforsaken)
{
	if
	:: bn == 2 -> publish(bpos, PADDING, false)
	:: else -> skip
	fi;
	publish(bpos + bn - 1, nstate, nforsaken)
}
#else
#define publish_resv(p, nstate, nforsaken) publish(p, nstate, nforsaken)
#endif

/* The frame at p is not finished: what a reader does after the unblock
 * timeout (unblock_hole(), finish() and mapq__repair_record()). The
 * confirmed owner's record wins; without one, every tentative record
 * naming p is a candidate (writers that raced for p with the same size
 * cannot be told apart) and each is marked (mark_tentatives()).
 * @me: a writer slot whose lock the repairer holds itself (a successor
 * taking the slot over: its own lock never shows as a conflict, so the
 * slot looks dead to it, alive to everyone else), NW for none. @force:
 * the unblock timeout has passed; without it a live owner is left alone
 * and a live tentative one makes the repair unsettled (the global
 * `unsettled', which only the successor reads). */
inline repair(p, me, force)
{
	/* mapq__unblock(): the frame first (published claimed?), then tail
	 * (space nobody reserved is no hole), then the records */
	d_step {
		pubc = PUBLISHED(p) && SLOT(p).state == CLAIMED;
		seen_tail = tail;
		/* load_record() of each slot */
		owner = NW;
		tent = 0;
		live = false;
		i = 0;
		do
		:: i < NW ->
			if
			:: rec[i].used && !(rec[i].flags & R_TENT) && COVERS(i, p) -> owner = i
			:: rec[i].used && TCOVERS(i, p) && (rec[i].flags & R_TENT) ->
				tent = tent | (1 << i);
				live = live || (alive[i] && i != me)
			:: else -> skip
			fi;
			i++
		:: else -> break
		od;
		if
		:: owner < NW -> rflags = rec[owner].flags
		:: else -> rflags = 0
		fi;
#ifdef SENDBATCH
		/* the size of what the repair publishes: the rest of the
		 * owner's reservation; without an owner, the reservation of
		 * the tentative record with the smallest visible end (the
		 * winner's: nothing starts inside it), and only those of that
		 * size are candidates (unblock_hole(), mark_tentatives()); a
		 * published claim's own size */
		if
		:: owner < NW -> psz = rec[owner].pos + RN(owner) - p
		:: owner == NW && tent != 0 ->
			psz = 0;
			i = 0;
			do
			:: i < NW ->
				if
				:: (tent & (1 << i)) && VISIBLE(p + RN(i)) && (psz == 0 || RN(i) < psz) ->
					psz = RN(i)
				:: else -> skip
				fi;
				i++
			:: else -> break
			od;
			if
			:: psz == 0 -> owner = NW + 1 /* no visible end: unsettled */
			:: else ->
				i = 0;
				do
				:: i < NW ->
					if
					:: (tent & (1 << i)) && RN(i) != psz -> tent = tent & ~(1 << i)
					:: else -> skip
					fi;
					i++
				:: else -> break
				od
			fi
		:: owner == NW && tent == 0 && pubc -> psz = FSIZE(p)
		:: else -> psz = 1
		fi;
#endif
#ifdef PAD
		/* the reservation the repair finishes (finish()): the
		 * owner's; without an owner, that of the tentative record
		 * covering p of the smallest size whose end is visible (the
		 * winner's: unblock_hole()), and only records of its start and
		 * size are candidates (mark_tentatives()); else a frame at p */
		if
		:: owner < NW -> bpos = rec[owner].pos; bn = RN(owner)
		:: owner == NW && tent != 0 ->
			bn = 0;
			i = 0;
			do
			:: i < NW ->
				if
				:: (tent & (1 << i)) && VISIBLE(rec[i].pos + RN(i)) && (bn == 0 || RN(i) < bn) ->
					bpos = rec[i].pos;
					bn = RN(i)
				:: else -> skip
				fi;
				i++
			:: else -> break
			od;
			if
			:: bn == 0 -> owner = NW + 1 /* no visible end: unsettled */
			:: else ->
				i = 0;
				do
				:: i < NW ->
					if
					:: (tent & (1 << i)) && (RN(i) != bn || rec[i].pos != bpos) ->
						tent = tent & ~(1 << i)
					:: else -> skip
					fi;
					i++
				:: else -> break
				od
			fi
		:: else -> bpos = p; bn = 1
		fi;
#endif
		i = 0
	}
	if
	:: p >= seen_tail -> skip
#if defined(SENDBATCH) || defined(PAD)
	:: p < seen_tail && owner > NW -> skip /* REPAIR_UNSETTLED */
#endif
	:: p < seen_tail && owner == NW && tent == 0 && pubc ->
		/* a published claim with no owner's record (frame_owner()):
		 * its writer is gone, abort it */
		publish(p, ABORTED, false)
	:: p < seen_tail && owner == NW && tent == 0 && !pubc ->
		/* no record: its writer has not recorded yet, or finished. Not
		 * once every writer is finished or dead: then space below tail
		 * that is still no frame is space no record describes, which
		 * the C code fills as unknown after the timeout, a last resort
		 * that a protocol without power cuts must never need (the
		 * simulator's verdict of the same). Recovery after a crash is
		 * another matter: its look (mapq__unblock() without force)
		 * ends the log at such space, left by a recovery that died
		 * after it cleared the records */
		assert(PROP5 && !(ALLDONE && !CRASHED && !PUBLISHED(p) && p < tail && head <= p))
	:: p < seen_tail && owner == NW && tent != 0 && !live ->
		publish_resv(p, ABORTED, false)
	:: p < seen_tail && owner == NW && tent != 0 && live && !force ->
		/* a live tentative owner settles within nanoseconds unless
		 * stopped: not before the timeout (REPAIR_UNSETTLED) */
		unsettled = true
	:: p < seen_tail && owner == NW && tent != 0 && live && force ->
		/* mark every candidate, each by its own CAS */
		marked = true;
		do
		:: i < NW && !(tent & (1 << i)) -> i++
		:: i < NW && (tent & (1 << i)) ->
			/* load_record(): the size, the pos, the size again (a
			 * seqlock), each a step of its own */
			ra = RECORD(i);
			rp = rec[i].pos;
			if
			:: RECORD(i) != ra ->
#ifdef BUG_MARK_SKIPS_BUSY
				skip /* bug: a record changing under us passed over */
#else
				marked = false /* its owner at work (confirming): look again */
#endif
			:: RECORD(i) == ra && (!(ra & R_USED) || rp != RPOS || (ra & R_FORSAKEN)) ->
				skip /* none, another position (a loser's next try), marked */
			:: RECORD(i) == ra && (ra & R_USED) && rp == RPOS && !(ra & R_TENT) ->
				marked = false /* confirmed since our look: look again */
			:: RECORD(i) == ra && (ra & R_USED) && rp == RPOS && (ra & R_TENT) &&
			   !(ra & R_FORSAKEN) ->
				/* the mark, by CAS on the size */
				atomic {
					if
					:: RECORD(i) == ra ->
mark_tentative:				rec[i].flags = rec[i].flags | R_FORSAKEN
					:: else -> marked = false
					fi
				}
			fi;
			i++
		:: else -> break
		od;
		if
		:: marked -> publish_resv(p, CLAIMED, true)
		:: else -> skip
		fi
	:: p < seen_tail && owner < NW && !(alive[owner] && owner != me) ->
		publish_resv(p, ABORTED, false)
	:: p < seen_tail && owner < NW && alive[owner] && owner != me && !force -> skip
#ifdef BUG_FORSAKE_PUBLISHING
	/* bug: a record already publishing is forsaken too */
	:: p < seen_tail && owner < NW && alive[owner] && owner != me && force ->
#else
	:: p < seen_tail && owner < NW && alive[owner] && owner != me && force &&
	   (rflags & R_PUBLISHING) -> skip
	:: p < seen_tail && owner < NW && alive[owner] && owner != me && force &&
	   !(rflags & R_PUBLISHING) ->
#endif
		/* forsake: mark the record first, by CAS */
		atomic {
			if
			:: rec[owner].used && rec[owner].pos == RPOS && rec[owner].flags == rflags ->
repair_before_mark:			rec[owner].flags = rflags | R_FORSAKEN;
				marked = true
			:: else -> marked = false
			fi
		}
		if
		:: marked -> publish_resv(p, CLAIMED, true)
		:: else -> skip
		fi
	fi;
	d_step { owner = 0; rflags = 0; i = 0; marked = false; tent = 0; live = false; pubc = false; seen_tail = 0; ra = 0; rp = 0
#ifdef SENDBATCH
		; psz = 0
#endif
#ifdef PAD
		; bpos = 0; bn = 0
#endif
	}
}

#ifdef PAD
/* publish_pad() of writer.c: the padding before the frame at t, its word
 * and then its pos, plain stores of the writer, whose record is
 * publishing (nobody else writes them now), never into space head has
 * passed */
inline publish_pad()
{
	if
	:: resn == 2 ->
pad_before_word:
		d_step {
			assert(PROP4 && head <= t - 1);
			SLOT(t - 1).state = PADDING;
			SLOT(t - 1).forsaken = false;
			SLOT(t - 1).lap = LAP(t - 1)
		}
pad_before_pos:
		SLOT(t - 1).pos = t - 1
	:: else -> skip
	fi
}
#endif

/* A dead writer's locals forgotten, as a new process starts with
 * none: left as they were, the values it died with would tell apart
 * states that differ in nothing anyone can see (no process reads
 * another's locals), and multiply the states searched after a death.
 * Its slot number (w) and what it was to send (s_end) stay: its end
 * uses them. */
inline writer_forget()
{
	t = 0; seen_pos = 0; seen_state = 0; seen_lap = 0; k = 0; i = 0; owner = 0;
	rflags = 0; tent = 0; seen_tail = 0; hp = 0; ra = 0; rp = 0; s = 0;
	fin = COMMITTED; seen_forsaken = false; ok = false; marked = false; live = false;
	pubc = false; pubd = false; took = false; data = false; pushed = false
#ifdef JOIN
	; bnd = 0
#ifdef JOIN_LOSSES
	; pushed2 = false
#endif
#endif
#ifdef SENDBATCH
	; psz = 0
#endif
#if defined(SENDBATCH) || defined(PAD)
	; resn = 1
#endif
#ifdef PAD
	; bpos = 0; bn = 0
#endif
}

proctype writer(byte w; byte s; byte s_end)
{
	byte t, seen_pos, seen_state, seen_lap, k, i, owner, rflags, tent, seen_tail, hp, ra, rp;
#ifdef JOIN
	byte bnd; /* the bound a scan of the reader slots loaded */
#ifdef JOIN_LOSSES
	bool pushed2;
#endif
#endif
	byte fin = COMMITTED; /* the state the settle publishes: mapq_abort()'s is ABORTED */
	bool seen_forsaken, ok, marked, live, pubc, pubd, took, data, pushed;
#ifdef SENDBATCH
	byte psz; /* the size publish() gives a word */
#endif
#if defined(SENDBATCH) || defined(PAD)
	byte resn = 1; /* slots in this reservation: 2 for a batch, or padding and a frame */
#else
#define resn 1
#endif
	PAD_LOCALS
	{
	do
	:: s == s_end -> break
	:: s < s_end ->
load_tail:
		t = tail;
#ifdef SENDBATCH
		if
		:: SBATCH -> resn = 2
		:: else -> resn = 1
		fi;
#elif defined(PAD)
		if
		:: PADDED -> resn = 2
		:: else -> resn = 1
		fi;
#endif
		if
		:: t + resn - head > NSLOT ->
			/* move head (mapq__advance_head), or wait: blocked by the
			 * reader, or by an unfinished frame (the writer's own
			 * unblock is the reader's here) */
			do
			:: tail != t || t + resn - head <= NSLOT -> break
#ifdef OVERWRITE
			/* mapq__advance_head(), overwrite: look at the frame
			 * (its words, then head again: one step in this memory),
			 * push a reader still on it past it, counting the
			 * message it loses (pass_readers()), then CAS head */
			:: FINISHED(head) ->
				d_step {
					hp = head;
#ifdef BUG_PAD_COUNTED_LOST
					/* bug: padding taken for a message by its
					 * word's state, which says committed (only
					 * the padding bit says no message: ring.c),
					 * and counted lost */
					data = FINISHED(hp) && (SLOT(hp).state == COMMITTED ||
								SLOT(hp).state == PADDING);
#else
					data = FINISHED(hp) && SLOT(hp).state == COMMITTED;
#endif
					ok = FINISHED(hp)
				}
				if
				:: ok ->
#ifdef JOIN
					bnd = hwm; /* the push scan's bound (seq_cst) */
#endif
					/* the push, by CAS */
					atomic {
						if
						:: cursor <= hp ->
							pushed = data && cursor == hp;
							if
							:: pushed -> uncounted[hp] = w + 1
							:: else -> skip
							fi;
							cursor = hp + 1
						:: else -> skip
						fi
					}
					/* then the count, a step of its own */
					if
#ifndef BUG_LOST_UNCOUNTED
					:: pushed ->
						d_step {
							lost++;
							lostset[hp] = true;
							uncounted[hp] = 0;
							pushed = false
						}
#endif
					:: else -> skip
					fi;
#ifdef JOIN
#ifndef JOIN_LOSSES
					/* the joiner too, if the scan sees it (its
					 * losses are counted with JOIN_LOSSES only) */
					atomic {
						if
						:: bnd > 1 && active2 && cursor2 <= hp -> cursor2 = hp + 1
						:: else -> skip
						fi
					};
#else
					/* the joiner too, if the scan sees it, and its
					 * count, a step of its own as well */
					atomic {
						if
						:: bnd > 1 && active2 && cursor2 <= hp ->
							pushed2 = data && cursor2 == hp;
							if
							:: pushed2 -> uncounted2[hp] = w + 1
							:: else -> skip
							fi;
							cursor2 = hp + 1
						:: else -> skip
						fi
					};
					if
#ifndef BUG_JOIN_LOST_UNCOUNTED
					:: pushed2 ->
						d_step {
							lost2++;
							lostset2[hp] = true;
							uncounted2[hp] = 0;
							pushed2 = false
						}
#endif
					:: else -> skip
					fi;
#endif
#endif
head_after_push:
					atomic {
						if
						:: head == hp -> head++
						:: else -> skip
						fi
					}
#if defined(JOIN) && !defined(BUG_NO_LIFT)
					/* mapq__lift_readers(): a reader that joined
					 * after our scan, below the new head, is lifted
					 * to it (or it saw the new head itself); its
					 * scan loads the bound again, after the CAS */
					bnd = hwm;
					atomic {
						if
						:: bnd > 1 && active2 && cursor2 < head ->
#ifdef JOIN_LOSSES
							lift2 = head;
#endif
							cursor2 = head
						:: else -> skip
						fi
					}
#endif
				:: else -> skip
				fi;
#ifdef JOIN
				d_step { hp = 0; data = false; ok = false; bnd = 0 }
#else
				d_step { hp = 0; data = false; ok = false }
#endif
#elif defined(JOIN)
			/* mapq__advance_head(), blocking: the scan of the readers
			 * and the walk (one step in this memory), then the intent
			 * (a max), the second scan, the CAS */
			:: FINISHED(head) && cursor > head && (hwm < 2 || !active2 || cursor2 > head) ->
				bnd = hwm; /* the first scan's bound (seq_cst) */
				d_step {
					hp = head;
					ok = FINISHED(hp) && cursor > hp && (bnd < 2 || !active2 || cursor2 > hp)
				}
				if
				:: ok ->
#ifndef BUG_JOIN_NO_INTENT
head_before_intent:
					atomic {
						if
						:: intent < hp + 1 -> intent = hp + 1
						:: else -> skip
						fi
					}
#ifndef BUG_JOIN_NO_RESCAN
					/* bug (if left out): the intent alone, said after
					 * the joiner looked for it */
					bnd = hwm; /* the second scan's own */
					ok = cursor > hp && (bnd < 2 || !active2 || cursor2 > hp);
#endif
#endif
					if
					:: ok ->
head_before_cas:				atomic {
							if
							:: head == hp -> head++
							:: else -> skip
							fi
						}
#ifdef BUG_JOIN_NO_INTENT
						/* bug: the protocol before the intent: the
						 * lift of a late joiner, after the CAS */
						bnd = hwm;
						atomic {
							if
							:: bnd > 1 && active2 && cursor2 < head -> cursor2 = head
							:: else -> skip
							fi
						}
#endif
					:: else -> skip
					fi
				:: else -> skip
				fi;
				d_step { hp = 0; ok = false; bnd = 0 }
#else
			/* with one reader, always attached, the scan, intent and
			 * second scan of JOIN come to this one step */
			:: atomic {
				FINISHED(head) && PASSED(head) ->
head_before_cas:			head = head + FSIZE(head)
			}
#if defined(RDEATH) && !defined(BUG_NO_REAP)
			/* held back by the reader at head: readers_floor() asks
			 * whether it lives (its lock), then frees a dead one's
			 * slot by CAS (reap_dead_reader()); BUG_NO_REAP: never,
			 * and a dead reader holds writers back for ever */
#ifdef BUG_REAP_LIVE
			/* bug: the slot freed without asking its lock */
			:: FINISHED(head) && !PASSED(head) ->
reap_reader:			reaped = true
#elif defined(RDURABLE)
			/* a durable reader's slot goes DETACHED (a CAS from
			 * ACTIVE: once), and holds us back still: we wait for
			 * the reader to come back. BUG_REAP_DURABLE_FREE: freed
			 * as an ephemeral reader's is */
			:: atomic {
				FINISHED(head) && !PASSED(head) && !ralive && !detached ->
#ifdef BUG_REAP_DURABLE_FREE
reap_reader:			reaped = true;
#else
reap_reader:			skip;
#endif
				detached = true
			}
#else
			:: FINISHED(head) && !PASSED(head) && !ralive ->
reap_reader:			reaped = true;
				/* the writers asleep behind it (seq_cst CAS, then
				 * the flag's load) */
				wake_space()
#endif
#endif
#endif
#ifdef WAKEUPS
			/* held back by the reader at head: sleep until it moves
			 * on; at a frame still being written, until its commit */
			:: FINISHED(head) && !PASSED(head) ->
				sleep_on(space_bumped[w], space_flag,
					 tail != t || t + resn - head <= NSLOT || PASSED(head),
					 SPACE_LOOK)
			:: !FINISHED(head) ->
				hp = head;
				sleep_on(data_bumped[w], data_flag,
					 tail != t || t + resn - head <= NSLOT || FINISHED(hp), false);
				hp = 0
#else
			/* the frame at head unfinished: this writer's own
			 * mapq__unblock(), after the timeout if its writer lives */
			:: !FINISHED(head) ->
				/* the position is a value, as in C (an inline's
				 * argument is text: head would be read at each use) */
				hp = head;
				repair(hp, NW, true);
				hp = 0
#endif
			od;
			goto load_tail
		:: else -> skip
		fi;
reserve_before_record:
		rec[w].pos = t;
reserve_after_pos:
#ifdef ALONE
		/* "Reserve alone": the only writer (one writer slot). Its
		 * record is publishing from the start, so nobody forsakes it,
		 * and tail moves by a store. */
#ifdef BUG_ALONE_CONFIRMED
		/* bug: a confirmed record, as a writer among others has: a
		 * repairer forsakes the stalled writer, whose commit, with no
		 * settle CAS to lose, publishes over the forsaken frame that
		 * readers have skipped */
		d_step { rec[w].flags = 0; rec[w].used = true }
#else
		d_step {
			rec[w].flags = R_PUBLISHING;
			rec[w].used = true
#if defined(SENDBATCH) || defined(PAD)
			; rec[w].n = resn
#endif
		}
#endif
reserve_before_cas:
		/* t from here on: the frame part, after any padding */
		d_step { tail = t + resn; t = t + PADN }
reserve_after_cas:
#else
		d_step {
			rec[w].flags = R_TENT;
			rec[w].used = true
#if defined(SENDBATCH) || defined(PAD)
			; rec[w].n = resn
#endif
		}
reserve_before_cas:
		atomic {
			if
			/* t from here on: the frame part, after any padding */
			:: tail == t -> tail = t + resn; t = t + PADN; ok = true
			:: else -> ok = false
			fi
		}
		if
		:: !ok -> rec[w].used = false; goto load_tail
		:: else -> skip
		fi;
reserve_after_cas:
		/* confirm, by CAS; a small mapq_send() confirms straight to
		 * publishing ("Publish early"), and makes no settle CAS */
		atomic {
			if
#ifdef BUG_EARLY_CONFIRMED
			/* bug: an early message confirmed only: a repairer
			 * forsakes the stalled writer, whose commit, with no
			 * settle CAS to lose, publishes over the forsaken frame
			 * that readers have skipped */
			:: rec[w].flags == R_TENT -> rec[w].flags = 0; ok = true
#else
			:: rec[w].flags == R_TENT && (EARLY || SBATCH) -> rec[w].flags = R_PUBLISHING; ok = true
			:: rec[w].flags == R_TENT && !EARLY && !SBATCH -> rec[w].flags = 0; ok = true
#endif
			:: else -> ok = false
			fi
		}
		if
		:: !ok -> goto abandon
		:: else -> skip
		fi;
reserve_after_confirm:
#endif
#ifdef BUG_PAD_EARLY
		/* bug: the padding published as soon as the space is ours,
		 * before the settle: a repairer that forsook a stalled writer
		 * publishes the same padding, head passes it, and the writer's
		 * late stores land in the next lap's frame there */
		publish_pad();
#endif
#ifdef SENDBATCH
		if
		:: SBATCH ->
			/* mapq_send_batch(): each frame published as it is
			 * copied (format.md, "Send a batch"): its payload, then
			 * its word and pos; no claim hint, no settle (the record
			 * is publishing) */
			assert(PROP4 && head <= t);
			SLOT(t).payload = w * 16 + s + 1;
			d_step {
				wrote[t] = w * 16 + s + 1;
				SLOT(t).state = COMMITTED;
				SLOT(t).forsaken = false;
				SLOT(t).lap = LAP(t);
				SET_SIZE(t, 1)
			}
			SLOT(t).pos = t;
#ifdef BUG_BATCH_WAKE_FIRST
			/* bug: a wake-up for each frame but the last: the
			 * sleeper on the second frame sleeps for ever */
			wake_data();
#endif
commit_batch_next:
			assert(PROP4 && head <= t + 1);
			SLOT(t + 1).payload = w * 16 + s + 2;
			d_step {
				wrote[t + 1] = w * 16 + s + 2;
				SLOT(t + 1).state = COMMITTED;
				SLOT(t + 1).forsaken = false;
				SLOT(t + 1).lap = LAP(t + 1);
				SET_SIZE(t + 1, 1)
			}
			SLOT(t + 1).pos = t + 1;
			d_step { rec[w].used = false; ok = false } /* clear_record() */
			d_step { acked[t] = true; acked[t + 1] = true; s = s + 2 }
#if defined(WAKEUPS) && !defined(BUG_BATCH_WAKE_FIRST)
			/* clear_record()'s wake-up, once for the whole batch,
			 * after its last pos (and the fence, as a commit's) */
			wake_data();
#endif
			goto next
		:: else -> skip
		fi;
#endif
		/* the claim hint: a word, no pos, a plain store whatever is
		 * there (a repairer may have published over the space since
		 * our confirm) */
		d_step {
			SLOT(t).state = CLAIMED;
			SLOT(t).forsaken = false;
			SLOT(t).lap = LAP(t);
			SET_SIZE(t, 1)
		}
		/* the payload, a plain store */
copy_midway:
		assert(PROP4 && head <= t); /* never into a frame head has passed */
		SLOT(t).payload = w * 16 + s + 1;
#ifdef ABORTS
		/* mapq_abort() instead of the commit, of any message: the same
		 * settle, publishing the word aborted, and nothing acknowledged */
		if
		:: skip
		:: true ->
abort_before_store:	fin = ABORTED
		fi;
#endif
		/* the CRC is the writer's own arithmetic: a death before it is
		 * a death before the record's CAS */
commit_before_crc:
commit_before_store:
#ifndef ALONE /* alone, the record is publishing already: no settle */
		/* settle: the record to publishing, by CAS; published early,
		 * it is publishing already */
		atomic {
			if
			:: EARLY -> ok = true
#ifdef BUG_SETTLE_STORE
			/* bug: a store, not a CAS: a forsaken writer publishes over
			 * the repairer's word */
			:: true -> rec[w].flags = R_PUBLISHING; ok = true
#else
			:: rec[w].flags == 0 -> rec[w].flags = R_PUBLISHING; ok = true
			:: else -> ok = false
#endif
			fi
		}
		if
		:: !ok -> goto abandon
		:: else -> skip
		fi;
#endif
commit_after_record:
		if
		:: fin == COMMITTED -> wrote[t] = w * 16 + s + 1
		:: else -> skip
		fi;
#if defined(PAD) && !defined(BUG_PAD_EARLY)
		/* the padding first, once the record is publishing (settle()) */
		publish_pad();
#endif
#ifdef BUG_POS_FIRST
		/* bug: pos before the word: a reader pairs it with the hint */
		SLOT(t).pos = t;
#endif
		d_step {
#ifdef BUG_ABORT_COMMITTED
			/* bug: mapq_abort() publishes its frame committed: a
			 * message its writer took back is delivered */
			SLOT(t).state = COMMITTED;
#else
			SLOT(t).state = fin;
#endif
			SLOT(t).forsaken = false;
			SLOT(t).lap = LAP(t);
			SET_SIZE(t, 1)
		}
#ifdef BUG_WAKE_BEFORE_POS
		/* bug: the wake-up before pos: the sleeper, woken, looks
		 * before pos is in and sleeps again, with nobody left to wake
		 * it */
		wake_data();
#endif
commit_before_pos:
		SLOT(t).pos = t;
commit_after_store:
		d_step { rec[w].used = false; ok = false }
commit_after_clear:
		acked[t] = fin == COMMITTED;
#ifndef BUG_WAKE_BEFORE_POS
		/* after the fence: a seq_cst one, or the light side of the
		 * asymmetric pair whose heavy side is the sleeper's membarrier
		 * (format.md, "Waiting"). Both keep the pair's order, which is
		 * all sequential consistency here can say; the simulator's
		 * memory models check each (mapq-sim, --full-fences). */
		wake_data();
#endif
		d_step { s++; fin = COMMITTED }
		goto next;
abandon:
		/* mapq__abandon: finish our own forsaken frame as aborted with
		 * the repairers' steps, then clear the record */
		k = 0;
#ifdef SENDBATCH
		psz = resn; /* the whole reservation */
#endif
#ifdef PAD
		d_step { bpos = t - PADN; bn = resn } /* the reservation, its padding first */
#endif
		do
		:: k < 4 && !(PUBLISHED(t) && SLOT(t).state != CLAIMED) ->
			publish_resv(t, ABORTED, false);
			k++
		:: else -> break
		od;
		assert(PROP5 && (PUBLISHED(t) && SLOT(t).state != CLAIMED || head > t));
		d_step {
			rec[w].used = false; k = 0; ok = false
#ifdef SENDBATCH
			; psz = 0
#endif
#ifdef PAD
			; bpos = 0; bn = 0
#endif
		}
		s = s + resn - PADN; /* MAPQ_ESTALLED: not acknowledged, not sent again */
next:		skip
	od
#ifdef TAKEOVER
	;
	/* mapq__wslot_detach(): the slot free, its lock released */
wslot_detach:
	atomic { done[w] = true; alive[w] = false }
	} unless { d_step { gone[w] && s_end == MSGS -> writer_forget() } }
	/* a death leaves done[w] to the successor (successor()) */
#else
	} unless { d_step { !alive[w] -> writer_forget() } };
	done[w] = true
#endif
}

/* A death can come at any step of any writer, once. */
proctype killer()
{
	do
#ifdef TAKEOVER
	/* a writer that detached has no lock to lose */
	:: atomic { alive[0] -> alive[0] = false; gone[0] = true }; break
	:: atomic { NW > 1 && alive[NW - 1] -> alive[NW - 1] = false; gone[NW - 1] = true }; break
#elif !defined(WAKEUPS)
	/* the choice of whom and the death, one step: a killer that chose
	 * and has not yet struck is no state of the C code, only a copy of
	 * every state around it */
	:: atomic { alive[0] -> alive[0] = false }; break
	:: atomic { NW > 1 && alive[NW - 1] -> alive[NW - 1] = false }; break
#endif
#ifdef RDEATH
	/* the reader instead */
	:: ralive = false; break
#endif
#ifdef CRASH
	:: atomic { crashed = true; alive[0] = false; alive[NW - 1] = false };
		/* and perhaps the recovery that follows, at any of its steps */
		if
		:: recovery_dies = true
		:: skip
		fi;
		break
#endif
	:: break
	od
}

/* A committed message delivered: exactly what its writer wrote for this
 * position, once, in its writer's order. */
inline deliver_at(p, v)
{
	assert(PROP1 && v == wrote[p] && v != 0);
	wr = (v - 1) / 16;
	sq = (v - 1) % 16;
#ifdef RDURABLE
	/* once, in order; the message held at the death perhaps once more */
	assert(PROP2 && (sq + 1 > last[wr] || ((p) + 1 == again && sq + 1 == last[wr])));
	d_step { last[wr] = sq + 1; got[p] = true; again = 0 } /* handed out: one event */
#else
	assert(PROP2 && sq + 1 > last[wr]); /* once, in order */
	d_step { last[wr] = sq + 1; got[p] = true } /* handed out: one event */
#endif
}
#define deliver() deliver_at(c, pl)

#ifdef BATCH
/* mapq_read_batch(): after the frame at c, the one after it, judged as
 * that one was (its pos and word, then its payload), before the one
 * release that passes both (format.md, "Read a batch"); or not (a batch
 * of one: the caller's max, or the next frame not ready). nb: slots the
 * release passes; pl2: the second one's payload, 0 if it carries none
 * (aborted or forsaken: passed over). The ring's end does not stop a
 * batch here: the C code stops there for the simulator's sake, and a
 * batch that goes on is more than it does. */
inline batch_more()
{
	if
	:: c + 1 < NPOS && PUBLISHED(c + 1) ->
		if
		:: SLOT(c + 1).state == COMMITTED ->
#ifdef BUG_BATCH_LATE_PAYLOAD
			/* bug: the second payload read after the release (below),
			 * when a writer may already have taken its space */
			nb = 2; pl2 = 255
#else
batch_payload:		pl2 = SLOT(c + 1).payload; nb = 2
#endif
		/* passed over whole: with -DSENDBATCH a repair's frame may be
		 * two slots long */
		:: SLOT(c + 1).state == ABORTED -> nb = 1 + FSIZE(c + 1)
		:: SLOT(c + 1).state == CLAIMED && SLOT(c + 1).forsaken -> nb = 1 + FSIZE(c + 1)
		:: SLOT(c + 1).state == CLAIMED && !SLOT(c + 1).forsaken -> skip
		fi
	:: true -> skip
	fi
}
/* The second frame handed out, if it carried a message. */
#define DELIVER2 if :: pl2 != 0 -> deliver_at(c + 1, pl2) :: else -> skip fi
#define BATCH_CLEAR ; pl2 = 0; nb = 1
#ifdef BUG_BATCH_SHORT_RELEASE
/* bug: the release passes the first frame of the batch only: the next
 * read hands out the second again */
#define PASS_BATCH (c + 1)
#else
#define PASS_BATCH (c + nb)
#endif
#else
#define DELIVER2 skip
#define BATCH_CLEAR
#define PASS_BATCH (c + 1)
#endif

/* Past an aborted or forsaken frame: a CAS under overwrite (a writer may
 * have pushed us past it already). */
#ifdef OVERWRITE
#define MOVE_ON atomic { if :: cursor == c -> cursor = c + 1 :: else -> skip fi }
#else
#define MOVE_ON cursor = c + FSIZE(c)
#endif

/* A dead reader's locals forgotten (see writer_forget()) */
inline reader_forget()
{
	c = 0; i = 0; owner = 0; rflags = 0; seen_pos = 0; seen_state = 0;
	seen_lap = 0; pl = 0; wr = 0; sq = 0; tent = 0; seen_tail = 0; nl = 0;
	ra = 0; rp = 0; seen_forsaken = false; marked = false; live = false;
	pubc = false; pubd = false; took = false; ok = false
#ifdef PAD
	; bpos = 0; bn = 0
#endif
#ifdef SENDBATCH
	; psz = 0
#endif
#ifdef BATCH
	; pl2 = 0; nb = 0
#endif
}

proctype reader()
{
	byte c, i, owner, rflags, seen_pos, seen_state, seen_lap, pl, wr, sq, tent, seen_tail, nl, ra, rp;
	bool seen_forsaken, marked, live, pubc, pubd, took, ok;
	PAD_LOCALS
#ifdef SENDBATCH
	byte psz;
#endif
#ifdef BATCH
	byte pl2, nb;
#endif
#ifdef RDURABLE
restart:
#endif
#if defined(CRASH) || defined(RDEATH)
	{
#endif
	do
	:: ALLDONE && cursor == tail -> break
#ifdef LEAVE
	/* mapq_reader_close() between two reads: the slot made free
	 * (seq_cst), then the writers it held back woken */
	:: true ->
#ifdef BUG_LEAVE_WAKE_FIRST
		/* bug: the wake-up before the slot is free: a writer that
		 * raises its flag after the waker's look, and then looks at a
		 * reader still there, sleeps with nobody left to wake it */
		wake_space();
#endif
rslot_detach:
		left = true;
#if !defined(BUG_LEAVE_NO_WAKE) && !defined(BUG_LEAVE_WAKE_FIRST)
		wake_space();
#endif
		goto left_queue
#endif
#ifdef RESUME
	/* A durable reader's mapq_reader_close() between two reads, and
	 * later its mapq_reader_open(MAPQ_START_RESUME): in between the slot
	 * stays DETACHED, which holds writers back as ACTIVE does (ring.c,
	 * holds_writers()), so nothing a writer does differs from a reader
	 * that is slow; on the way back the slot goes from DETACHED
	 * straight to ACTIVE (reader.c) and the join raises a cursor behind
	 * head to head (join_floor(), then the CAS), which then moves
	 * nothing. */
	:: resumed < RESUMES ->
rslot_detach:
		resumed++;
#ifdef BUG_RESUME_BUSY
		/* bug: back through BUSY, a state head movers skip: head may
		 * pass the cursor, and the join then lifts it over messages
		 * never delivered */
rslot_attach_busy:
		rbusy = true;
#endif
rslot_attach_active:
		rbusy = false;
		atomic {
			if
			:: cursor < head -> cursor = head
			:: else -> skip
			fi
		}
#endif
#ifdef OVERWRITE
	/* mapq_read(): a count of lost messages is reported first
	 * (-MAPQ_ELAPPED), by exchange with 0 */
	:: lost > 0 -> d_step { reported = reported + lost; lost = 0 }
#endif
	:: else ->
		c = cursor;
		if
		:: PUBLISHED(c) ->
			if
			:: SLOT(c).state == COMMITTED ->
				/* the payload, then the check: it is what the writer
				 * wrote for this position */
take_payload:			pl = SLOT(c).payload;
#ifdef BATCH
				d_step { nb = 1; pl2 = 0 }
				batch_more();
#endif
#ifdef OVERWRITE
				/* the release: CAS the cursor on; if a writer
				 * pushed it meanwhile, the frame may have been
				 * overwritten while we read it: -MAPQ_ELAPPED,
				 * the bytes discarded */
read_before_advance:		atomic {
					if
#ifdef BUG_ADVANCE_STORE
					/* bug: a store, not a CAS */
					:: true -> cursor = PASS_BATCH; ok = true
#else
					:: cursor == c -> cursor = PASS_BATCH; ok = true
					:: else -> ok = false
#endif
					fi
				}
#ifdef BUG_BATCH_LATE_PAYLOAD
				if
				:: pl2 == 255 -> pl2 = SLOT(c + 1).payload
				:: else -> skip
				fi;
#endif
				if
				:: ok -> deliver(); DELIVER2
				:: else -> skip
				fi;
				d_step { pl = 0; wr = 0; sq = 0; ok = false BATCH_CLEAR }
#elif defined(BUG_RELEASE_FIRST)
				/* bug: the cursor moved on before the message is
				 * handed out: a reader that dies between loses it */
read_before_advance:		cursor = c + 1;
				deliver();
				d_step { pl = 0; wr = 0; sq = 0 }
#else
				deliver();
				DELIVER2;
read_before_advance:		d_step {
					/* never into the middle of a frame: the model's
					 * two-slot frame could have its second position
					 * published on its own later, and the reader would
					 * go on, where the C reader meets a payload */
					assert(PROP1 && !INSIDE(PASS_BATCH));
					cursor = PASS_BATCH; pl = 0; wr = 0; sq = 0 BATCH_CLEAR
				}
#endif
read_after_advance:		skip
			:: SLOT(c).state == ABORTED -> MOVE_ON
			:: SLOT(c).state == PADDING -> MOVE_ON /* no message */
			:: SLOT(c).state == CLAIMED && SLOT(c).forsaken -> MOVE_ON
			:: SLOT(c).state == CLAIMED && !SLOT(c).forsaken ->
				/* a helped hint: finish it after the timeout */
				repair(c, NW, true)
			fi
#ifdef WAKEUPS
		:: !PUBLISHED(c) ->
			/* a writer is on it, or the queue is empty: sleep until
			 * a commit wakes us (or the end) */
			sleep_on(data_bumped[NW], data_flag, PUBLISHED(c), ALLDONE && cursor == tail)
#else
		:: !PUBLISHED(c) && c < tail ->
			/* a writer is on it: wait, or give up after the
			 * unblock timeout (any time: a stall of any length) */
			if
			:: repair(c, NW, true)
			:: skip
			fi
		:: !PUBLISHED(c) && c >= tail ->
			/* empty: wait for a commit (or the end) */
			(tail > c || ALLDONE)
#endif
		fi;
#ifdef WAKEUPS
		/* advance(): moved on, wake writers held back */
		if
		:: cursor != c -> wake_space()
		:: else -> skip
		fi
#endif
	od;
#ifdef CRASH
	} unless { d_step { crashed -> reader_forget() }; goto gone };
#elif defined(RDURABLE)
	} unless {
		/* dead: what it held in its locals is gone */
		d_step { !ralive -> reader_forget() };
		/* mapq_reader_open(MAPQ_START_RESUME) in a new process: the
		 * slot's lock (under the registry lock, which a reaper holds
		 * too), the slot ACTIVE again from DETACHED or from the dead
		 * owner's ACTIVE, and a cursor behind head raised to it */
rslot_attach_active:
		atomic {
			ralive = true;
			detached = false;
			reaped = false;
			if
			:: cursor < NPOS && got[cursor] -> again = cursor + 1
			:: else -> skip
			fi;
			if
			:: cursor < head -> cursor = head
			:: else -> skip
			fi
		}
		goto restart
	};
#elif defined(RDEATH)
	} unless { d_step { !ralive -> reader_forget() }; goto gone };
#endif
#ifdef OVERWRITE
	/* every acknowledged message delivered or counted lost, never both
	 * (or pushed past by a writer that died before its count), and the
	 * counts the reader was told add up to those counted lost */
	i = 0;
	do
	:: i < NPOS ->
		assert(PROP3 && !(got[i] && lostset[i]));
		assert(PROP3 && (!lostset[i] || wrote[i] != 0)); /* only a message is lost */
		assert(PROP3 && (!acked[i] || got[i] || lostset[i] ||
		       (uncounted[i] && !alive[uncounted[i] - 1])));
		nl = nl + lostset[i];
		i++
	:: else -> break
	od;
	assert(PROP3 && reported + lost == nl)
#else
	/* every acknowledged message delivered */
	i = 0;
	do
	:: i < NPOS -> assert(PROP2 && (!acked[i] || got[i])); i++
	:: else -> break
	od
#endif
#if defined(CRASH) || defined(RDEATH)
gone:	skip
#endif
#ifdef LEAVE
	;
left_queue:
	skip
#endif
}

#ifdef JOIN
/* A reader joining at the oldest frame (mapq_reader_open(),
 * MAPQ_START_OLDEST), at any moment, then reading to the end, and
 * repairing where it waits as the first reader does. */
proctype joiner()
{
	byte c, i, h, pl, wr, sq, owner, rflags, seen_pos, seen_state, seen_lap, tent, seen_tail, ra, rp;
	bool ok, seen_forsaken, marked, live, pubc, pubd, took;
rslot_attach_busy:
	c = head; /* where it starts: head, loaded relaxed */
	cursor2 = c;
#ifndef BUG_HWM_LATE
	hwm = 2; /* raise_hwm(): the bound past its slot first (seq_cst) */
#endif
rslot_attach_active:
	active2 = true; /* seq_cst */
	i = intent;     /* seq_cst */
	h = head;       /* seq_cst */
#ifdef BUG_HWM_LATE
	/* bug: the bound raised after the join's pair: a mover that loaded
	 * it before never looks at our slot */
	hwm = 2;
#endif
#if defined(BUG_JOIN_NO_INTENT) || defined(OVERWRITE)
	i = 0; /* no intent under the overwrite policy: lifts instead */
#endif
	atomic {
		if
		:: i > h && cursor2 < i -> cursor2 = i
		:: i <= h && cursor2 < h -> cursor2 = h
		:: else -> skip
		fi
	}
	d_step { start2 = cursor2; c = 0; i = 0; h = 0 }
	do
	:: ALLDONE && cursor2 == tail -> break
#ifdef JOIN_LOSSES
	/* its count of lost messages reported first, as the first reader's */
	:: lost2 > 0 -> d_step { reported2 = reported2 + lost2; lost2 = 0 }
#endif
	:: else ->
		c = cursor2;
		if
		:: FINISHED(c) && SLOT(c).state == COMMITTED ->
			pl = SLOT(c).payload; /* held, as mapq_read() returns it */
			/* mapq_release(): still as written, then the cursor on by
			 * CAS, which a late joiner's lift alone could fail */
			atomic {
#ifndef OVERWRITE
				assert(PROP4 && SLOT(c).pos == c && SLOT(c).lap == LAP(c) && SLOT(c).payload == pl);
#endif
				ok = cursor2 == c;
				if
				:: ok -> cursor2 = c + 1
				:: else -> skip
				fi
			}
#ifndef OVERWRITE
			assert(PROP4 && ok); /* never -MAPQ_ELAPPED under the blocking policy */
#endif
			/* under the overwrite policy a failed release says the
			 * frame may have been overwritten: what was read is
			 * dropped; a release that succeeds proves it intact */
			if
			:: ok ->
				assert(PROP1 && pl == wrote[c] && pl != 0);
				wr = (pl - 1) / 16;
				sq = (pl - 1) % 16;
				assert(PROP2 && sq + 1 > last2[wr]); /* once, in order */
				d_step { last2[wr] = sq + 1; got2[c] = true }
			:: else -> skip
			fi;
			d_step { pl = 0; wr = 0; sq = 0; ok = false }
		:: FINISHED(c) && SLOT(c).state == ABORTED ->
			atomic { if :: cursor2 == c -> cursor2 = c + 1 :: else -> skip fi }
		:: PUBLISHED(c) && SLOT(c).state == CLAIMED && SLOT(c).forsaken ->
			atomic { if :: cursor2 == c -> cursor2 = c + 1 :: else -> skip fi }
		:: PUBLISHED(c) && SLOT(c).state == CLAIMED && !SLOT(c).forsaken ->
			repair(c, NW, true) /* a helped hint, as the first reader */
#ifdef OVERWRITE
		:: !PUBLISHED(c) && c < head ->
			/* behind head, the space taken by a later lap: only a
			 * push or a lift moves it on. If nobody does, it waits
			 * here for ever: an invalid end state. */
			(cursor2 != c)
		:: !PUBLISHED(c) && c >= head && c < tail ->
#else
		:: !PUBLISHED(c) && c < tail ->
#endif
			if
			:: repair(c, NW, true)
			:: skip
			fi
		:: !PUBLISHED(c) && c >= tail ->
			(tail > c || ALLDONE)
		fi
	od;
#ifndef OVERWRITE
	/* every acknowledged message from where it started, delivered */
	i = 0;
	do
	:: i < NPOS -> assert(PROP2 && (!acked[i] || i < start2 || got2[i])); i++
	:: else -> break
	od
#endif
#ifdef JOIN_LOSSES
	/* from where it started, every acknowledged message delivered or
	 * counted lost, never both (or passed by a lift, or its pusher died
	 * before the count), and the counts it was told add up */
	i = 0;
	h = 0;
	do
	:: i < NPOS ->
		assert(PROP3 && !(got2[i] && lostset2[i]));
		assert(PROP3 && (!lostset2[i] || wrote[i] != 0)); /* only a message is lost */
		assert(PROP3 && (!acked[i] || i < start2 || got2[i] || lostset2[i] || i < lift2 ||
		       (uncounted2[i] && !alive[uncounted2[i] - 1])));
		h = h + lostset2[i];
		i++
	:: else -> break
	od;
	assert(PROP3 && reported2 + lost2 == h)
#endif
}
#endif

#ifdef CRASH
/* recover_exclusive() after the crash, as the log is left by it (no power
 * cut: the control page and every store made are there): walk from head,
 * a lap at most; a published claim is aborted (only ours could be live,
 * and we hold none); a frame not published is looked at once more after
 * mapq__unblock(), which finishes a dead writer's reservation its record
 * describes; the log ends at the first frame still missing. Then the
 * writers' records are cleared, tail is the end, and the cursor is moved
 * into the log. */
inline recover()
{
	k = 0;
recover_start:
	h = head;
	c = h;
	do
	:: c < h + NSLOT && FINISHED(c) -> d_step { c = c + FSIZE(c); k = 0 }
#ifndef BUG_RECOVER_KEEP_CLAIM
	:: c < h + NSLOT && PUBLISHED(c) && SLOT(c).state == CLAIMED ->
		/* check_frame() */
		d_step { SLOT(c).state = ABORTED; SLOT(c).forsaken = false }
#else
	/* bug: a published claim walked as a frame, left claimed */
	:: c < h + NSLOT && PUBLISHED(c) && SLOT(c).state == CLAIMED -> d_step { c++; k = 0 }
#endif
	:: c < h + NSLOT && !PUBLISHED(c) && k < 2 ->
		repair(c, NW, true);
		k++
	:: else -> break
	od;
recover_repaired:
	/* free_dead_writers() */
	atomic { rec[0].used = false; rec[NW - 1].used = false };
	/* scrub_slot() past the end, scrub_bodies() in the log's aborted
	 * frames: with no power cut there is nothing to clear. No slot holds
	 * a frame of its position's or a later lap past the end, nor of a
	 * later lap in the log: checked, the step stays a no-op */
	d_step {
		k = h;
		do
		:: k < h + NSLOT ->
			assert(PROP6 && (SLOT(k).pos == NOPOS || SLOT(k).pos < k || (k < c && SLOT(k).pos < k + NSLOT)));
			k++
		:: else -> break
		od;
		k = 0
	}
recover_scrubbed:
	tail = c;
recover_tail:
	if
	:: cursor < h -> cursor = h
	:: cursor > c -> cursor = c
	:: else -> skip
	fi;
recover_readers:
	d_step { h = 0; c = 0; k = 0 }
}

/* After the crash: recovery (again, if the first dies), then the durable
 * reader, restarted at its cursor, reads the log to its end. The log
 * holds only finished frames; every message acknowledged before the crash
 * is delivered, exactly as written, in each writer's order; the message
 * the reader was handed and had not yet released when it died may come
 * once more (at-least-once across a reader's restart). */
proctype recoverer()
{
	byte c, c0, h, i, k, owner, rflags, seen_pos, seen_state, seen_lap, pl, wr, sq, tent,
		seen_tail, ra, rp;
	bool seen_forsaken, marked, live, pubc, pubd, took;
	PAD_LOCALS
#ifdef SENDBATCH
	byte psz;
#endif
	/* an "end" label: with no crash, waiting here for ever is the end */
end_no_crash:
	crashed && ALLDONE;
	{ recover() } unless { recovery_dies };
	if
	:: d_step {
			/* run again by a new process: the dead one's locals forgotten
			 * (see writer_forget()) */
			recovery_dies ->
			c = 0; c0 = 0; h = 0; i = 0; k = 0; owner = 0; rflags = 0; seen_pos = 0;
			seen_state = 0; seen_lap = 0; pl = 0; wr = 0; sq = 0; tent = 0; seen_tail = 0;
			ra = 0; rp = 0; seen_forsaken = false; marked = false; live = false; pubc = false;
			pubd = false; took = false
#ifdef PAD
			; bpos = 0; bn = 0
#endif
#ifdef SENDBATCH
			; psz = 0
#endif
		};
		recover()
	:: else -> skip
	fi;
	c0 = cursor;
	do
	:: cursor < tail ->
		c = cursor;
		assert(PROP6 && FINISHED(c)); /* a log of finished frames only */
		if
		:: SLOT(c).state == COMMITTED ->
			pl = SLOT(c).payload;
			assert(PROP6 && pl == wrote[c] && pl != 0);
			wr = (pl - 1) / 16;
			sq = (pl - 1) % 16;
			assert(PROP6 && (sq + 1 > last[wr] || (c == c0 && got[c])));
			d_step { last[wr] = sq + 1; got[c] = true }
		:: else -> skip
		fi;
		cursor = c + FSIZE(c)
	:: else -> break
	od;
	i = 0;
	do
	:: i < NPOS -> assert(PROP6 && (!acked[i] || got[i])); i++
	:: else -> break
	od
}
#endif

#ifdef TAKEOVER
#if defined(WAKEUPS) || defined(CRASH) || defined(OVERWRITE) || defined(JOIN)
#error "TAKEOVER goes with the blocking policy alone"
#endif
/* mapq__repair_record() of slot w, whose lock we hold: the dead owner's
 * record (load_record()), then head and tail (is it stale?), then its
 * frame: a published claim is aborted (finish()), so is a confirmed
 * reservation's hole; a tentative one is a hole of unblock_hole(),
 * without the timeout (force false), where a live rival for the space
 * leaves it unsettled. */
inline repair_record(w)
{
	d_step {
		ok = rec[w].used;
		p = rec[w].pos;
		tentw = (rec[w].flags & R_TENT) != 0
	}
	if
	:: ok ->
		h = head;
		if
		:: p < h || p >= tail -> skip /* stale */
		:: else ->
			if
			:: PUBLISHED(p) && SLOT(p).state != CLAIMED -> skip
			:: PUBLISHED(p) && SLOT(p).state == CLAIMED && !tentw ->
				/* a confirmed record's frame is its alone */
				publish(p, ABORTED, false)
			:: PUBLISHED(p) && SLOT(p).state == CLAIMED && tentw ->
#ifdef BUG_TAKEOVER_ABORT
				/* bug: aborted on the strength of a tentative record,
				 * which may be a dead loser's naming the frame of a
				 * live winner */
				publish(p, ABORTED, false)
#else
				/* a loser's record may name the winner's frame: abort
				 * it only if its owner (frame_owner(): a confirmed
				 * record, else a tentative one marked forsaken, a live
				 * one before a dead one) is dead, or us */
				d_step {
					owner = NW;
					i = 0;
					do
					:: i < NW ->
						if
						:: rec[i].used && rec[i].pos == p && !(rec[i].flags & R_TENT) ->
							owner = i;
							break
						:: rec[i].used && rec[i].pos == p && (rec[i].flags & R_TENT) &&
						   (rec[i].flags & R_FORSAKEN) &&
						   (owner == NW || (!(alive[owner] && owner != w) &&
						    alive[i] && i != w)) ->
							owner = i
						:: else -> skip
						fi;
						i++
					:: else -> break
					od;
					i = 0
				}
				if
				:: owner < NW && owner != w && alive[owner] -> skip
				:: else -> publish(p, ABORTED, false)
				fi;
				owner = 0
#endif
			:: !PUBLISHED(p) && !tentw -> publish(p, ABORTED, false)
			:: !PUBLISHED(p) && tentw -> repair(p, w, false)
			fi
		fi
	:: else -> skip
	fi;
	d_step { ok = false; tentw = false; h = 0 }
}

/* Whoever attaches next takes over a dead writer's slot
 * (mapq__wslot_attach()): its lock, free once the owner died; the
 * owner's reservation settled (take_over(): mapq__repair_record() again
 * while the frame moves, TRIES times here, eight in C); a reservation it
 * cannot settle yet (a live rival for the space) makes it leave the slot
 * and come back; then the record cleared (claim_slot()), and the slot
 * is a writer's again, which sends SMSGS messages, the dead owner's
 * successors in its order, and detaches. */
#define TRIES 2
proctype successor()
{
	byte w, p, h, k, i, owner, rflags, seen_pos, seen_state, seen_lap, tent, seen_tail, ra, rp;
	bool ok, tentw, seen_forsaken, marked, live, pubc, pubd, took;
	/* an "end" label: with no death, waiting here for ever is the end */
end_no_death:
	if
	:: atomic { !alive[0] && !done[0] -> w = 0; alive[0] = true }
	:: atomic { NW > 1 && !alive[NW - 1] && !done[NW - 1] -> w = NW - 1; alive[w] = true }
	fi;
wslot_attach_locked:
	k = 0;
	do
	:: k < TRIES ->
		repair_record(w);
		if
		:: unsettled -> break
		:: !rec[w].used || rec[w].pos < head || rec[w].pos >= tail ||
		   (PUBLISHED(rec[w].pos) && SLOT(rec[w].pos).state != CLAIMED) -> break
		:: else -> k++ /* REPAIR_DONE: the frame moved, look again */
		fi
	:: else -> break
	od;
	if
	:: unsettled ->
		/* -EAGAIN: leave the slot for a moment, its lock released */
		d_step { unsettled = false; k = 0; alive[w] = false };
		goto end_no_death
	:: else -> skip
	fi;
wslot_attach_repaired:
	d_step { rec[w].used = false; k = 0 } /* claim_slot() */
	/* the slot's writer from here on, a process of its own: what we
	 * held in our locals forgotten (see writer_forget()) */
	atomic {
		run writer(w, MSGS, MSGS + SMSGS);
		w = 0; p = 0; h = 0; k = 0; i = 0; owner = 0; rflags = 0; seen_pos = 0;
		seen_state = 0; seen_lap = 0; tent = 0; seen_tail = 0; ra = 0; rp = 0;
		ok = false; tentw = false; seen_forsaken = false; marked = false; live = false;
		pubc = false; pubd = false; took = false
	}
}
#endif

#ifdef SYNC
#if defined(JOIN) || defined(TAKEOVER) || defined(RESUME) || defined(LEAVE) || defined(RDEATH) || \
	defined(CRASH)
#error "SYNC goes with one reader that stays, writers that nobody succeeds, and no crash"
#endif
#ifndef SYNCS
#define SYNCS 1
#endif
/* Whether a sync forsakes a live writer after the unblock timeout, as the
 * C sync does (true), or leaves that to the reader (-DSYNC_FORSAKES=false,
 * a smaller space: two syncs at once) */
#ifndef SYNC_FORSAKES
#define SYNC_FORSAKES true
#endif
/* The newest checkpoint's tail (ck_any: one was written), the sync lock;
 * ghosts: the largest end a flush of the data reached, and the largest
 * end of a sync that returned 0 (what it promised). */
bool ck_any = false;
byte ck_tail = 0;
bool ck_lock = false;
byte flushed = 0;
byte promised = 0;
/* Is the frame at p published and finished, or forsaken (a sync takes a
 * forsaken frame for finished: it is never delivered, and recovery after
 * a power cut aborts it)? */
#define SYNCED(p) (FINISHED(p) || (PUBLISHED(p) && SLOT(p).state == CLAIMED && SLOT(p).forsaken))
#ifdef BUG_SYNC_WORD_ONLY
/* bug: judged by the commit word alone (its lap tag and state), as if
 * the pos field, stored after it, were there too */
#define SYNC_LOOK(p) ((SLOT(p).lap == LAP(p) && (SLOT(p).state == COMMITTED || \
	SLOT(p).state == ABORTED || SLOT(p).state == PADDING)) || SYNCED(p))
#else
#define SYNC_LOOK(p) SYNCED(p)
#endif

/* mapq_sync() by a process of its own (SYNCS of them), at any moment. */
proctype syncer()
{
	byte c, end, h, sz, i, owner, rflags, seen_pos, seen_state, seen_lap, tent, seen_tail, ra, rp;
	bool seen_forsaken, marked, live, pubc, pubd, took, ok;
	PAD_LOCALS
#ifdef SENDBATCH
	byte psz;
#endif
	/* the end: tail, relaxed */
	end = tail;
	/* wait_finished(): from head (or further) to the end, each frame
	 * finished or forsaken; an unfinished one is repaired at once if its
	 * writer is dead, its live writer forsaken after the unblock timeout
	 * (a choice at any time: a stall of any length; with
	 * SYNC_FORSAKES false, only the reader forsakes), or waited for.
	 * With -DWAKEUPS, where nobody dies or stalls, it is waited for. */
	do
	:: h = head;
		if
		:: c < h -> c = h
		:: else -> skip
		fi;
		if
		:: c >= end -> break
		:: else -> skip
		fi;
sync_before_look:
		/* pos and the commit word (acquire) */
		d_step { ok = SYNC_LOOK(c); sz = FSIZE(c) }
		if
		:: head > c -> skip /* passed while we looked: from head again */
		:: head <= c && ok -> c = c + sz
		:: head <= c && !ok ->
			if
#ifndef WAKEUPS
			:: repair(c, NW, SYNC_FORSAKES)
#endif
			:: SYNC_LOOK(c) || head > c -> skip
			fi
		fi;
		d_step { ok = false; sz = 0 }
	od;
	/* the flush, msync of the whole file: from head to the end, every
	 * frame is published at its position, so the image on disk is a log
	 * up to the end that recovery walks whole, and holds every message
	 * acknowledged before the call that no reader has consumed. (Each
	 * was finished or forsaken when the sync looked; a forsaken writer's
	 * late claim hint may have made one claimed since, which recovery
	 * aborts as it does any published claim.) The flush may fail
	 * (os.msync inside): the error returned, no checkpoint written. */
sync_before_msync:
	if
	:: d_step {
		c = head;
		do
		:: c < end -> assert(PROP7 && PUBLISHED(c)); c = c + FSIZE(c)
		:: else -> break
		od;
		c = 0;
		if
		:: end > flushed -> flushed = end
		:: else -> skip
		fi
	   }
#ifdef BUG_CKPT_FAILED_FLUSH
	/* bug: the flush's error ignored, the checkpoint written after it */
	:: skip
#else
	:: goto unsynced
#endif
	fi;
	/* the checkpoint, under the sync lock, whose fcntl may fail
	 * (-ENOLCK) */
os_lock:
	if
	:: atomic { !ck_lock -> ck_lock = true }
	:: goto unsynced
	fi;
#ifndef BUG_CKPT_BACK
	/* never back: the newest checkpoint, if it is at or past our end
	 * (a sync that began later flushed at least what we did) and not
	 * past tail, stands for ours (BUG_CKPT_BACK writes ours whatever is
	 * there: a sync that waited long moves it back past what a later
	 * one promised) */
	if
	:: ck_any && ck_tail >= end && ck_tail <= tail -> ck_lock = false; goto checkpointed
	:: else -> skip
	fi;
#endif
	d_step {
		/* written: it points at data already durable (ours, or a
		 * later sync's), and moves no sync's promise back (its head,
		 * which only recovery after a power cut reads, is not
		 * modelled) */
		assert(PROP7 && end <= flushed && end >= promised);
		ck_tail = end;
		ck_any = true
	}
sync_before_checkpoint:
	/* its page flushed, which may fail too: the error is returned, the
	 * checkpoint perhaps not durable (a later sync writes the next) */
os_msync:
	if
	:: ok = true
	:: ok = false
	fi;
	ck_lock = false;
	if
	:: !ok -> goto unsynced
	:: else -> skip
	fi;
checkpointed:
	/* returned 0: the newest checkpoint covers what we flushed */
	assert(PROP7 && ck_any && ck_tail >= end);
	d_step {
		if
		:: end > promised -> promised = end
		:: else -> skip
		fi;
		ok = false
	}
unsynced:
	c = 0;
	d_step { end = 0; h = 0; ok = false }
}
#endif

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < NSLOT -> slot[i].pos = NOPOS; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NW -> alive[i] = true; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NW -> run writer(i, 0, WMSGS(i)); i++
		:: else -> break
		od;
#ifdef TAKEOVER
		run successor();
#endif
		run reader();
#ifdef JOIN
		run joiner();
#endif
#ifdef CRASH
		run recoverer();
#endif
#ifdef SYNC
		i = 0;
		do
		:: i < SYNCS -> run syncer(); i++
		:: else -> break
		od;
#endif
#if (!defined(WAKEUPS) || defined(RDEATH)) && !defined(NO_DEATHS)
		/* with wake-ups, writers live: only the reader may die */
		run killer()
#endif
	}
}
