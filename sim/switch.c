/* SPDX-License-Identifier: MIT */
/*
 * switch.c - switching between coroutines (switch.h).
 *
 * On x86-64 (System V ABI) a switch pushes the callee-saved registers
 * (rbp, rbx, r12-r15) and the SSE and x87 control words on the running
 * stack, stores the stack pointer, loads the other one and pops the
 * same. The caller-saved registers need no saving: sim_ctx_switch() is a
 * call, after which the compiler assumes them clobbered. The signal mask
 * is left alone: nothing in the simulator changes it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "switch.h"

#ifdef SIM_CTX_UCONTEXT

void sim_ctx_make(struct sim_ctx *c, void *stack, size_t size, void (*entry)(void))
{
	if (getcontext(&c->uc))
		abort();
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, entry, 0);
}

void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to)
{
	if (swapcontext(&from->uc, &to->uc))
		abort();
}

#else

void sim__ctx_swap(void **save_sp, void *load_sp);
void sim__ctx_start(void);

/* sim__ctx_swap(save_sp, load_sp): rdi, rsi. The frame it leaves, from
 * the stack pointer up: control words (mxcsr, then the x87 control word),
 * r15, r14, r13, r12, rbx, rbp, the return address. */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl sim__ctx_swap\n"
	".hidden sim__ctx_swap\n"
	".type sim__ctx_swap, @function\n"
	"sim__ctx_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size sim__ctx_swap, .-sim__ctx_swap\n"
	/* A new context's first return lands here, the stack 16-byte
	 * aligned, the entry in r12: call it (it never returns). */
	".p2align 4\n"
	".globl sim__ctx_start\n"
	".hidden sim__ctx_start\n"
	".type sim__ctx_start, @function\n"
	"sim__ctx_start:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	callq *%r12\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size sim__ctx_start, .-sim__ctx_start\n"
	".popsection\n");

void sim_ctx_make(struct sim_ctx *c, void *stack, size_t size, void (*entry)(void))
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	uint64_t *f = (uint64_t *)top - 8;
	/* mxcsr: all exceptions masked, round to nearest; x87: the same,
	 * 64-bit precision (the values a process starts with) */
	f[0] = 0x1F80u | (uint64_t)0x037Fu << 32;
	f[1] = f[2] = f[3] = 0;  /* r15, r14, r13 */
	f[4] = (uintptr_t)entry; /* r12 */
	f[5] = f[6] = 0;         /* rbx, rbp */
	f[7] = (uintptr_t)sim__ctx_start;
	c->sp = f; /* after the pops and the ret: top, 16-byte aligned */
}

void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to)
{
	sim__ctx_swap(&from->sp, to->sp);
}

#endif
