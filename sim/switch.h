/* SPDX-License-Identifier: MIT */
/*
 * switch.h - a coroutine's saved context, and switching between two.
 *
 * swapcontext() also saves and restores the signal mask, one system call
 * per switch, and a schedule switches about once every two or three
 * steps; the simulator never changes the mask, so on x86-64 a switch is
 * a handful of instructions instead (switch.c). Elsewhere, and under
 * AddressSanitizer (which follows swapcontext but not a hand-made stack
 * switch), it is swapcontext.
 */
#ifndef MAPQ_SIM_SWITCH_H
#define MAPQ_SIM_SWITCH_H

#include <stddef.h>
#include <ucontext.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_CTX_UCONTEXT 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || !defined(__x86_64__) || !defined(__ELF__)
#undef SIM_CTX_UCONTEXT
#define SIM_CTX_UCONTEXT 1
#endif

struct sim_ctx {
#ifdef SIM_CTX_UCONTEXT
	ucontext_t uc;
#else
	void *sp; /* where its registers were pushed */
#endif
};

/* A context that starts in @entry, on @stack of @size bytes. @entry must
 * never return: it leaves by switching away for good. */
void sim_ctx_make(struct sim_ctx *c, void *stack, size_t size, void (*entry)(void));

/* Save the running context in @from, and resume @to. */
void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to);

#endif
