/*
 * Unit test of preload/dwarf.c, a TAP program: call frame information assembled here byte by
 * byte (CIEs, FDEs, their CFA programs and an .eh_frame_hdr, with small writers of fixed-size,
 * LEB128 and pc-relative fields), decoded by dwarf.c and compared with the rules it must give,
 * packed exactly as dwarf.h says.  The images are what gcc and glibc emit (the push rbp; mov
 * rbp,rsp prologue and its epilogue, frameless functions, PLT stubs, realigned stacks, _start,
 * signal frames, personality and LSDA augmentations) and what no one should (records past the
 * end of the object, bad LEB128s, unknown opcodes and encodings, state stacks under- and
 * overflowing), which must be refused.
 *
 * Each image is assembled twice: once in a scratch buffer to learn its size, then at its final
 * address in a heap block of exactly that size, which is the object's extent [lo, hi): a read
 * out of bounds is then a read past a heap block, which valgrind reports
 * (valgrind --error-exitcode=1 tests/unit/dwarf-test).  The fake code the FDEs describe lies
 * 1 MiB past the image and is never read.
 *
 * Build: gcc -O2 -g -Wall -Wextra -I preload preload/dwarf.c tests/unit/dwarf-test.c
 *        -o dwarf-test
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf.h"
#include "tap.h"

/* Bytes the scratch buffer holds: the largest image. */
#define IMG_SCRATCH 65536

/* Where the fake code lies, from the start of an image. */
#define IMG_TEXT 0x100000

/* The bytes of the frameless function: push, sub, the three runs, add, pop, ret. */
#define FRAMELESS_SIZE (8 + 200 + 0x1234 + 0x12345 + 2)

/* The FDEs of the .eh_frame_hdr test. */
#define HDR_FDES 7

/* Call frame information being assembled. */
struct img {
	uint8_t		*buf;		/* where it is assembled: at last, its final address */
	size_t		 len;		/* bytes written */
	size_t		 cap;		/* bytes buf holds */
};

/* A run of pcs of a function and the rule expected at each. */
struct seg {
	size_t		 from;		/* the run's first pc, from the function's start; it ends
					   where the next run starts */
	uint64_t	 rule;		/* the rule at each pc of the run */
};

/* Where the .eh_frame_hdr test put things, and how. */
struct hdr_case {
	int		 count_enc;	/* the encoding of the hdr's count (DW_EH_PE_omit: none) */
	int		 table_enc;	/* the hdr's table encoding (DW_EH_PE_omit: no table) */
	size_t		 extra;		/* pairs the hdr's count claims beyond those it has */
	size_t		 hdr;		/* offset of the hdr in the image */
	uintptr_t	 start[HDR_FDES];	/* each function's first pc */
	uintptr_t	 end[HDR_FDES];		/* and its end */
};

/* What build_bad builds, and where. */
struct bad_build {
	int		 bc;		/* the enum bad_case to build */
	size_t		 at;		/* where its record starts */
};

/* Returns the packed simple rule with FLAGS (DWARF_RULE_CFA_RBP, ...) and those offsets. */
static uint64_t
rule(uint64_t flags, int32_t cfa_off, int16_t rbp_off)
{
	uint64_t	r = DWARF_RULE_SIMPLE | flags | (uint64_t)(uint32_t)cfa_off << 32;

	if (flags & DWARF_RULE_RBP_SAVED)
		r |= (uint64_t)(uint16_t)rbp_off << 16;
	return r;
}

/* Appends N bytes at P to IM. */
static void
img_bytes(struct img *im, const void *p, size_t n)
{
	if (n > im->cap - im->len) {
		printf("Bail out! image larger than %zu bytes\n", im->cap);
		exit(1);
	}
	memcpy(im->buf + im->len, p, n);
	im->len += n;
}

/* Appends a byte. */
static void
img_u8(struct img *im, uint8_t v)
{
	img_bytes(im, &v, 1);
}

/* Appends the low N bytes of V, little-endian (as x86-64 stores it). */
static void
img_fixed(struct img *im, uint64_t v, size_t n)
{
	img_bytes(im, &v, n);
}

/* Appends V as an unsigned LEB128. */
static void
img_uleb(struct img *im, uint64_t v)
{
	do {
		img_u8(im, (v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

/* Appends V as a signed LEB128. */
static void
img_sleb(struct img *im, int64_t v)
{
	uint8_t	b;
	int	more;

	do {
		b = v & 0x7f;
		v >>= 7;	/* arithmetic: gcc's, as C99 leaves it to the implementation */
		more = !((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40)));
		img_u8(im, b | (more ? 0x80 : 0));
	} while (more);
}

/* Appends A as 4 bytes relative to where they are written (DW_EH_PE_pcrel|DW_EH_PE_sdata4). */
static void
img_pcrel(struct img *im, uintptr_t a)
{
	img_fixed(im, (uint64_t)(a - (uintptr_t)(im->buf + im->len)), 4);
}

/* Returns the address of the fake code at OFF. */
static uintptr_t
img_text(const struct img *im, size_t off)
{
	return (uintptr_t)im->buf + IMG_TEXT + off;
}

/* Fills in the length of the record that starts at offset AT, which ends here. */
static void
img_close(struct img *im, size_t at)
{
	uint32_t	len = (uint32_t)(im->len - at - 4);

	memcpy(im->buf + at, &len, 4);
}

/* Appends a call frame instruction with one LEB128 operand, unsigned unless SIGNED_OP. */
static void
img_op1(struct img *im, uint8_t op, int signed_op, int64_t a)
{
	img_u8(im, op);
	if (signed_op)
		img_sleb(im, a);
	else
		img_uleb(im, (uint64_t)a);
}

/* Appends a call frame instruction with an unsigned operand A and one B, signed if SIGNED_B. */
static void
img_op2(struct img *im, uint8_t op, uint64_t a, int signed_b, int64_t b)
{
	img_u8(im, op);
	img_uleb(im, a);
	if (signed_b)
		img_sleb(im, b);
	else
		img_uleb(im, (uint64_t)b);
}

/*
 * Starts a CIE of VERSION (1 or 3) with augmentation AUG and those factors and return address
 * column; returns its offset.  Its augmentation data and instructions follow, then img_close.
 */
static size_t
img_cie(struct img *im, int version, const char *aug, uint64_t code_align, int64_t data_align,
    uint64_t ra)
{
	size_t	at = im->len;

	img_fixed(im, 0, 4);
	img_fixed(im, 0, 4);
	img_u8(im, version);
	img_bytes(im, aug, strlen(aug) + 1);
	img_uleb(im, code_align);
	img_sleb(im, data_align);
	if (version == 1)
		img_u8(im, ra);
	else
		img_uleb(im, ra);
	return at;
}

/*
 * Writes the CIE gcc emits: "zR" with pc-relative FDE addresses, factors 1 and -8, the return
 * address at CFA - 8 and the CFA at rsp + 8.  Returns its offset.
 */
static size_t
img_gcc_cie(struct img *im)
{
	size_t	at = img_cie(im, 1, "zR", 1, -8, DWARF_REG_RA);

	img_uleb(im, 1);
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, at);
	return at;
}

/* Starts an FDE that uses the CIE at offset CIE; returns its offset.  Its fields follow. */
static size_t
img_fde(struct img *im, size_t cie)
{
	size_t	at = im->len;

	img_fixed(im, 0, 4);
	img_fixed(im, im->len - cie, 4);
	return at;
}

/*
 * Starts an FDE of the CIE at offset CIE (made by img_gcc_cie) for the SIZE bytes of code at
 * START, without augmentation data; returns its offset.  Its instructions follow.
 */
static size_t
img_gcc_fde(struct img *im, size_t cie, uintptr_t start, uint32_t size)
{
	size_t	at = img_fde(im, cie);

	img_pcrel(im, start);
	img_fixed(im, size, 4);
	img_uleb(im, 0);
	return at;
}

/*
 * Assembles with BUILD(IM, ARG) call frame information in a heap block of exactly its size:
 * first in a scratch buffer, to learn the size, then at the final address.
 */
static void
img_make(struct img *im, void (*build)(struct img *, void *), void *arg)
{
	static uint8_t	scratch[IMG_SCRATCH];
	size_t		len;

	im->buf = scratch;
	im->cap = sizeof scratch;
	im->len = 0;
	build(im, arg);
	len = im->len;
	if ((im->buf = malloc(len)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	im->cap = len;
	im->len = 0;
	build(im, arg);
}

/* Returns the object whose extent is image IM, without an .eh_frame_hdr. */
static struct dwarf_object
img_object(const struct img *im)
{
	struct dwarf_object	o;

	memset(&o, 0, sizeof o);
	o.lo = (uintptr_t)im->buf;
	o.hi = (uintptr_t)im->buf + im->len;
	return o;
}

/*
 * Checks that the FDE at offset AT of image IM parses, covers the SIZE bytes at START and has the
 * rules SEGS[0 .. N) at each of its pcs; NAME names the function in the TAP lines.
 */
static void
check_fde(const struct img *im, size_t at, uintptr_t start, size_t size, const struct seg *segs,
    size_t n, const char *name)
{
	struct dwarf_object	 o = img_object(im);
	struct dwarf_fde	 fde;
	const uint8_t		*next;
	uint64_t		 r = 0;
	size_t			 i, pc, end, bad;

	if (!tap_ok(dwarf_fde_parse(&o, im->buf + at, &fde, &next) == 0 && fde.start == start &&
	    fde.end == start + size, "%s: the FDE parses, covering its %zu bytes", name, size))
		return;
	for (i = 0; i < n; i++) {
		end = i + 1 < n ? segs[i + 1].from : size;
		bad = end;
		for (pc = segs[i].from; pc < end && bad == end; pc++) {
			if ((r = dwarf_fde_rule(&fde, start + pc)) != segs[i].rule)
				bad = pc;
		}
		if (!tap_ok(bad == end, "%s: rule %#llx at each pc of [%#zx, %#zx)", name,
		    (unsigned long long)segs[i].rule, segs[i].from, end))
			printf("# at %#zx: got %#llx\n", bad, (unsigned long long)r);
	}
}

/* Builds a gcc -O0 function, push rbp; mov rbp,rsp; ...; pop rbp; ret, in 0x20 bytes. */
static void
build_prologue(struct img *im, void *arg)
{
	size_t	cie, fde;

	cie = img_gcc_cie(im);
	fde = img_gcc_fde(im, cie, img_text(im, 0), 0x20);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);		/* after push %rbp */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RBP, 0, 2);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|3);		/* after mov %rsp,%rbp */
	img_op1(im, DWARF_CFA_DEF_CFA_REGISTER, 0, DWARF_REG_RBP);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|0x1b);	/* after pop %rbp */
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_close(im, fde);
	img_fixed(im, 0, 4);
	*(size_t *)arg = fde;
}

/* The push rbp; mov rbp,rsp prologue, also found by the walk of .eh_frame. */
static void
test_prologue(void)
{
	struct seg		 s[] = {
		{ 0, rule(0, 8, 0) },
		{ 1, rule(DWARF_RULE_RBP_SAVED, 16, -16) },
		{ 4, rule(DWARF_RULE_CFA_RBP|DWARF_RULE_RBP_SAVED, 16, -16) },
		{ 0x1f, rule(DWARF_RULE_RBP_SAVED, 8, -16) },
	};
	struct dwarf_object	 o;
	struct dwarf_fde	 fde;
	struct img		 im;
	size_t			 at;

	img_make(&im, build_prologue, &at);
	check_fde(&im, at, img_text(&im, 0), 0x20, s, 4, "prologue");

	o = img_object(&im);
	o.eh_frame = im.buf;
	tap_ok(dwarf_fde_find(&o, img_text(&im, 0), &fde) == 0 && fde.start == img_text(&im, 0) &&
	    fde.cie.code_align == 1 && fde.cie.data_align == -8 && fde.cie.ra_reg == 16 &&
	    fde.cie.fde_enc == (DWARF_PE_PCREL|DWARF_PE_SDATA4) && fde.cie.has_aug &&
	    !fde.cie.signal, "prologue: the walk of .eh_frame finds the FDE and its CIE's fields");
	tap_ok(dwarf_fde_find(&o, img_text(&im, 0x1f), &fde) == 0 &&
	    dwarf_fde_find(&o, img_text(&im, 0x20), &fde) != 0 &&
	    dwarf_fde_find(&o, img_text(&im, 0) - 1, &fde) != 0,
	    "prologue: the walk finds its last pc, not the pcs just outside");
	tap_ok(dwarf_rule_cfa_off(s[2].rule) == 16 && dwarf_rule_rbp_off(s[2].rule) == -16 &&
	    dwarf_rule_cfa_off(rule(0, -24, 0)) == -24 &&
	    dwarf_rule_rbp_off(rule(DWARF_RULE_RBP_SAVED, 8, 32767)) == 32767,
	    "the rule accessors undo the packing, signs included");
	free(im.buf);
}

/*
 * Builds a frameless function: push rbx; sub $0x1000,rsp; runs of 200, 0x1234 and 0x12345
 * bytes reached by DW_CFA_advance_loc1, 2 and 4; add; pop rbx; ret.
 */
static void
build_frameless(struct img *im, void *arg)
{
	size_t	cie, fde;

	cie = img_gcc_cie(im);
	fde = img_gcc_fde(im, cie, img_text(im, 0), FRAMELESS_SIZE);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);		/* after push %rbx */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
	img_op1(im, DWARF_CFA_OFFSET|3, 0, 2);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|7);		/* after sub $0x1000,%rsp */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 0x1010);
	img_u8(im, DWARF_CFA_ADVANCE_LOC1);
	img_fixed(im, 200, 1);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 0x1018);
	img_u8(im, DWARF_CFA_ADVANCE_LOC2);
	img_fixed(im, 0x1234, 2);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 0x1010);
	img_u8(im, DWARF_CFA_ADVANCE_LOC4);
	img_fixed(im, 0x12345, 4);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);	/* after add $0x1000,%rsp */
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);		/* after pop %rbx */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 8);
	img_close(im, fde);
	*(size_t *)arg = fde;
}

/* A frameless function: CFA rsp + N throughout, rbp untouched. */
static void
test_frameless(void)
{
	struct seg	s[] = {
		{ 0, rule(0, 8, 0) },
		{ 1, rule(0, 16, 0) },
		{ 8, rule(0, 0x1010, 0) },
		{ 8 + 200, rule(0, 0x1018, 0) },
		{ 8 + 200 + 0x1234, rule(0, 0x1010, 0) },
		{ 8 + 200 + 0x1234 + 0x12345, rule(0, 16, 0) },
		{ 8 + 200 + 0x1234 + 0x12345 + 1, rule(0, 8, 0) },
	};
	struct img	im;
	size_t		at;

	img_make(&im, build_frameless, &at);
	check_fde(&im, at, img_text(&im, 0), FRAMELESS_SIZE, s, sizeof s / sizeof s[0],
	    "frameless");
	free(im.buf);
}

/*
 * Builds a function with two epilogues inside DW_CFA_remember_state / restore_state, written
 * with the other forms of the instructions: the _sf ones, offset_extended, restore,
 * restore_extended, same_value, set_loc, nop, GNU_args_size, GNU_negative_offset_extended, and
 * expressions for registers that do not matter (whose bytes, run as instructions, would change
 * the rule).
 */
static void
build_states(struct img *im, void *arg)
{
	size_t	cie, fde;

	cie = img_gcc_cie(im);
	fde = img_gcc_fde(im, cie, img_text(im, 0), 34);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET_SF, 1, -2);		/* 16 */
	img_op2(im, DWARF_CFA_OFFSET_EXTENDED_SF, DWARF_REG_RBP, 1, 2);	/* CFA - 16 */
	img_u8(im, DWARF_CFA_ADVANCE_LOC|3);
	img_op1(im, DWARF_CFA_DEF_CFA_REGISTER, 0, DWARF_REG_RBP);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|11);			/* 15: after leave */
	img_u8(im, DWARF_CFA_REMEMBER_STATE);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_u8(im, DWARF_CFA_RESTORE|DWARF_REG_RBP);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);			/* 16: after ret */
	img_u8(im, DWARF_CFA_RESTORE_STATE);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|8);			/* 24 */
	img_op1(im, DWARF_CFA_GNU_ARGS_SIZE, 0, 16);
	img_u8(im, DWARF_CFA_NOP);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|2);			/* 26 */
	img_u8(im, DWARF_CFA_REMEMBER_STATE);
	img_op2(im, DWARF_CFA_DEF_CFA_SF, DWARF_REG_RSP, 1, -1);	/* rsp + 8 */
	img_op1(im, DWARF_CFA_RESTORE_EXTENDED, 0, DWARF_REG_RBP);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);			/* 27 */
	img_u8(im, DWARF_CFA_RESTORE_STATE);
	img_u8(im, DWARF_CFA_SET_LOC);				/* 30 */
	img_pcrel(im, img_text(im, 30));
	img_op2(im, DWARF_CFA_OFFSET_EXTENDED, DWARF_REG_RBP, 0, 3);	/* CFA - 24 */
	img_u8(im, DWARF_CFA_ADVANCE_LOC|2);			/* 32 */
	img_op1(im, DWARF_CFA_SAME_VALUE, 0, DWARF_REG_RBP);
	img_op2(im, DWARF_CFA_EXPRESSION, 12, 0, 2);
	img_bytes(im, "\x0e\x30", 2);				/* as an instruction: CFA + 48 */
	img_op2(im, DWARF_CFA_VAL_EXPRESSION, 13, 0, 2);
	img_bytes(im, "\x0e\x30", 2);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);			/* 33 */
	img_op2(im, DWARF_CFA_GNU_NEGATIVE_OFFSET_EXTENDED, DWARF_REG_RBP, 0, 2);	/* + 16 */
	img_close(im, fde);
	*(size_t *)arg = fde;
}

/* Builds a function of a CIE whose code alignment factor is 4. */
static void
build_align4(struct img *im, void *arg)
{
	size_t	cie, fde;

	cie = img_cie(im, 3, "zR", 4, -8, DWARF_REG_RA);
	img_uleb(im, 1);
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, cie);
	fde = img_gcc_fde(im, cie, img_text(im, 0), 16);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);			/* 4 bytes */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|2);			/* 8 more */
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 8);
	img_close(im, fde);
	*(size_t *)arg = fde;
}

/* Remembered and restored states, the other forms of the instructions, code alignment. */
static void
test_states(void)
{
	uint64_t	framed = rule(DWARF_RULE_CFA_RBP|DWARF_RULE_RBP_SAVED, 16, -16);
	struct seg	s[] = {
		{ 0, rule(0, 8, 0) },
		{ 1, rule(DWARF_RULE_RBP_SAVED, 16, -16) },
		{ 4, framed },
		{ 15, rule(0, 8, 0) },
		{ 16, framed },
		{ 26, rule(0, 8, 0) },
		{ 27, framed },
		{ 30, rule(DWARF_RULE_CFA_RBP|DWARF_RULE_RBP_SAVED, 16, -24) },
		{ 32, rule(DWARF_RULE_CFA_RBP, 16, 0) },
		{ 33, rule(DWARF_RULE_CFA_RBP|DWARF_RULE_RBP_SAVED, 16, 16) },
	};
	struct seg	a[] = {
		{ 0, rule(0, 8, 0) }, { 4, rule(0, 16, 0) }, { 12, rule(0, 8, 0) },
	};
	struct img	im;
	size_t		at;

	img_make(&im, build_states, &at);
	check_fde(&im, at, img_text(&im, 0), 34, s, sizeof s / sizeof s[0], "states");
	free(im.buf);

	img_make(&im, build_align4, &at);
	check_fde(&im, at, img_text(&im, 0), 16, a, 3, "code alignment 4, CIE version 3");
	free(im.buf);
}

/* What an FDE of the cases of build_kinds holds. */
enum kind_case {
	KIND_PLT,		/* a PLT stub: CFA rsp + 16, an expression after 16 bytes */
	KIND_REALIGN,		/* main of a realigned stack: CFA in r10, rbp by expression */
	KIND_RA_REG,		/* the return address in a register */
	KIND_RA_OFF,		/* the return address at CFA - 16 */
	KIND_RSP_VAL,		/* the caller's rsp not the CFA */
	KIND_VAL_EXPR,		/* the caller's rbp a value expression */
	KIND_VAL_OFF,		/* the caller's rbp the value CFA - 16 */
	KIND_RBP_REG,		/* the caller's rbp in another register */
	KIND_CFA_BIG,		/* a CFA offset past 32 bits */
	KIND_RBP_BIG,		/* an rbp offset past 16 bits */
	KIND_START,		/* _start: the return address undefined */
	KIND_CLONE,		/* clone3: undefined after the syscall */
	KIND_SIGNAL,		/* a signal frame ("zRS") */
	KIND_COLUMN,		/* a CIE whose return address column is not 16 */
	KIND_N			/* number of cases */
};

/* Builds one FDE of each enum kind_case, each 32 bytes; ARG gets their offsets. */
static void
build_kinds(struct img *im, void *arg)
{
	size_t	*at = arg, cie, sig, col;
	int	 k;

	cie = img_gcc_cie(im);
	sig = img_cie(im, 1, "zRS", 1, -8, DWARF_REG_RA);
	img_uleb(im, 1);
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, sig);
	col = img_cie(im, 1, "zR", 1, -8, 30);
	img_uleb(im, 1);
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);	/* as if 16 were */
	img_close(im, col);
	for (k = 0; k < KIND_N; k++) {
		at[k] = img_gcc_fde(im, k == KIND_SIGNAL ? sig : k == KIND_COLUMN ? col : cie,
		    img_text(im, 32 * k), 32);
		switch (k) {
		case KIND_PLT:
			img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
			img_u8(im, DWARF_CFA_ADVANCE_LOC|16);
			/* DW_OP_breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus */
			img_op1(im, DWARF_CFA_DEF_CFA_EXPRESSION, 0, 11);
			img_bytes(im, "\x77\x08\x80\x00\x3f\x1a\x3b\x2a\x33\x24\x22", 11);
			break;
		case KIND_REALIGN:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|5);	/* lea 8(%rsp),%r10 */
			img_op2(im, DWARF_CFA_DEF_CFA, 10, 0, 0);
			img_u8(im, DWARF_CFA_ADVANCE_LOC|9);
			img_op2(im, DWARF_CFA_EXPRESSION, DWARF_REG_RBP, 0, 2);
			img_bytes(im, "\x76\x00", 2);		/* DW_OP_breg6 0 */
			break;
		case KIND_RA_REG:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_REGISTER, DWARF_REG_RA, 0, 0);
			break;
		case KIND_RA_OFF:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 2);
			break;
		case KIND_RSP_VAL:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_VAL_OFFSET, DWARF_REG_RSP, 0, 1);
			break;
		case KIND_VAL_EXPR:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_VAL_EXPRESSION, DWARF_REG_RBP, 0, 2);
			img_bytes(im, "\x76\x00", 2);
			break;
		case KIND_VAL_OFF:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_VAL_OFFSET, DWARF_REG_RBP, 0, 2);
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_VAL_OFFSET_SF, DWARF_REG_RBP, 1, 2);
			break;
		case KIND_RBP_REG:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op2(im, DWARF_CFA_REGISTER, DWARF_REG_RBP, 0, 3);
			break;
		case KIND_CFA_BIG:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 0x80000000);
			break;
		case KIND_RBP_BIG:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RBP, 0, 0x1001);	/* CFA - 32776 */
			break;
		case KIND_START:
			img_op1(im, DWARF_CFA_UNDEFINED, 0, DWARF_REG_RA);
			break;
		case KIND_CLONE:
			img_u8(im, DWARF_CFA_ADVANCE_LOC|12);	/* after syscall, in the child */
			img_op1(im, DWARF_CFA_UNDEFINED, 0, DWARF_REG_RA);
			break;
		}
		img_close(im, at[k]);
	}
}

/* What simple rules cannot say, and the end of the stack. */
static void
test_kinds(void)
{
	static const struct {
		size_t		 change;	/* the pc where the rule changes */
		uint64_t	 after;		/* the rule from there on */
		const char	*name;		/* the case */
	} cases[KIND_N] = {
		[KIND_PLT] = { 16, DWARF_RULE_COMPLEX, "PLT stub, CFA expression" },
		[KIND_REALIGN] = { 5, DWARF_RULE_COMPLEX, "realigned stack, CFA in r10" },
		[KIND_RA_REG] = { 4, DWARF_RULE_COMPLEX, "return address in a register" },
		[KIND_RA_OFF] = { 4, DWARF_RULE_COMPLEX, "return address at CFA - 16" },
		[KIND_RSP_VAL] = { 4, DWARF_RULE_COMPLEX, "caller's rsp is not the CFA" },
		[KIND_VAL_EXPR] = { 4, DWARF_RULE_COMPLEX, "caller's rbp by value expression" },
		[KIND_VAL_OFF] = { 4, DWARF_RULE_COMPLEX, "caller's rbp by value offset" },
		[KIND_RBP_REG] = { 4, DWARF_RULE_COMPLEX, "caller's rbp in rbx" },
		[KIND_CFA_BIG] = { 4, DWARF_RULE_COMPLEX, "CFA offset past 32 bits" },
		[KIND_RBP_BIG] = { 4, DWARF_RULE_COMPLEX, "rbp offset past 16 bits" },
		[KIND_START] = { 0, DWARF_RULE_END, "_start, return address undefined" },
		[KIND_CLONE] = { 12, DWARF_RULE_END, "clone3, undefined in the child" },
		[KIND_SIGNAL] = { 0, DWARF_RULE_COMPLEX, "signal frame" },
		[KIND_COLUMN] = { 0, DWARF_RULE_COMPLEX, "return address column 30" },
	};
	struct seg	s[2];
	struct img	im;
	size_t		at[KIND_N];
	int		k;

	img_make(&im, build_kinds, at);
	for (k = 0; k < KIND_N; k++) {
		s[0].from = 0;
		s[0].rule = k == KIND_PLT ? rule(0, 16, 0) : rule(0, 8, 0);
		s[1].from = cases[k].change;
		s[1].rule = cases[k].after;
		if (cases[k].change == 0)
			check_fde(&im, at[k], img_text(&im, 32 * k), 32, s + 1, 1, cases[k].name);
		else
			check_fde(&im, at[k], img_text(&im, 32 * k), 32, s, 2, cases[k].name);
	}
	free(im.buf);
}

/*
 * Builds CIEs with the augmentations of C++ and of old or unknown producers, and an FDE for each
 * of the first three: "zPLR" (personality, LSDA), "zRX" (an unknown letter after R, 8-byte FDE
 * addresses, augmentation data in the FDE) and "" (absolute 8-byte FDE addresses, no
 * augmentation data); and "eh", which must be refused.  ARG gets the offsets of the FDEs, then
 * of the "eh" CIE.
 */
static void
build_augs(struct img *im, void *arg)
{
	size_t	*at = arg, plr, rx, none, eh;

	plr = img_cie(im, 1, "zPLR", 1, -8, DWARF_REG_RA);
	img_uleb(im, 7);
	img_u8(im, DWARF_PE_INDIRECT|DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_pcrel(im, img_text(im, 0x8000));		/* &DW.ref.__gxx_personality_v0 */
	img_u8(im, DWARF_PE_SDATA4);			/* L */
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);	/* R */
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, plr);
	rx = img_cie(im, 1, "zRX", 1, -8, DWARF_REG_RA);
	img_uleb(im, 3);
	img_u8(im, DWARF_PE_SDATA8);
	img_bytes(im, "\x86\x02", 2);			/* X's; as instructions, rbp saved */
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, rx);
	none = img_cie(im, 1, "", 1, -8, DWARF_REG_RA);
	img_op2(im, DWARF_CFA_DEF_CFA, DWARF_REG_RSP, 0, 8);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RA, 0, 1);
	img_close(im, none);
	eh = img_cie(im, 1, "eh", 1, -8, DWARF_REG_RA);
	img_close(im, eh);

	at[0] = img_fde(im, plr);
	img_pcrel(im, img_text(im, 0));
	img_fixed(im, 0x20, 4);
	img_uleb(im, 4);
	img_pcrel(im, img_text(im, 0x9000));		/* the LSDA */
	img_u8(im, DWARF_CFA_ADVANCE_LOC|1);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
	img_op1(im, DWARF_CFA_OFFSET|DWARF_REG_RBP, 0, 2);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|3);
	img_op1(im, DWARF_CFA_DEF_CFA_REGISTER, 0, DWARF_REG_RBP);
	img_close(im, at[0]);
	at[1] = img_fde(im, rx);
	img_fixed(im, img_text(im, 0x40), 8);
	img_fixed(im, 0x10, 8);
	img_uleb(im, 2);
	img_bytes(im, "\x86\x02", 2);			/* augmentation data, not instructions */
	img_u8(im, DWARF_CFA_ADVANCE_LOC|2);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 32);
	img_close(im, at[1]);
	at[2] = img_fde(im, none);
	img_fixed(im, img_text(im, 0x80), 8);
	img_fixed(im, 0x10, 8);
	img_u8(im, DWARF_CFA_ADVANCE_LOC|2);
	img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 32);
	img_close(im, at[2]);
	at[3] = eh;
}

/* Augmentations: "zPLR", "zRX", none, and one refused. */
static void
test_augs(void)
{
	struct seg		 plr[] = {
		{ 0, rule(0, 8, 0) },
		{ 1, rule(DWARF_RULE_RBP_SAVED, 16, -16) },
		{ 4, rule(DWARF_RULE_CFA_RBP|DWARF_RULE_RBP_SAVED, 16, -16) },
	};
	struct seg		 two[] = { { 0, rule(0, 8, 0) }, { 2, rule(0, 32, 0) } };
	struct dwarf_object	 o;
	struct dwarf_cie	 cie;
	struct dwarf_fde	 fde;
	const uint8_t		*next;
	struct img		 im;
	size_t			 at[4];

	img_make(&im, build_augs, at);
	o = img_object(&im);
	check_fde(&im, at[0], img_text(&im, 0), 0x20, plr, 3, "\"zPLR\"");
	tap_ok(dwarf_fde_parse(&o, im.buf + at[0], &fde, &next) == 0 &&
	    fde.cie.fde_enc == (DWARF_PE_PCREL|DWARF_PE_SDATA4) && fde.cie.has_aug &&
	    next == im.buf + at[1], "\"zPLR\": the encoding after P and L, the LSDA skipped");
	check_fde(&im, at[1], img_text(&im, 0x40), 0x10, two, 2, "\"zRX\", sdata8");
	check_fde(&im, at[2], img_text(&im, 0x80), 0x10, two, 2, "no augmentation, absptr");
	tap_ok(dwarf_cie_parse(&o, im.buf + at[3], &cie) != 0, "\"eh\" augmentation refused");
	free(im.buf);
}

/*
 * Builds an .eh_frame of HDR_FDES functions (FDE i gives CFA rsp + 8 (i + 1) at each pc),
 * written in the reverse order of their pcs, with gaps between some and none between others, and
 * then an .eh_frame_hdr for it as ARG, a struct hdr_case, says.
 */
static void
build_hdr(struct img *im, void *arg)
{
	static const size_t	 at[HDR_FDES] = { 0, 0x10, 0x30, 0x100, 0x108, 0x1000, 0x1001 };
	static const size_t	 size[HDR_FDES] = { 0x10, 0x20, 0x40, 8, 8, 1, 0x30 };
	struct hdr_case		*hc = arg;
	size_t			 cie, fde[HDR_FDES], pos;
	int			 i;

	cie = img_gcc_cie(im);
	for (i = HDR_FDES - 1; i >= 0; i--) {
		hc->start[i] = img_text(im, at[i]);
		hc->end[i] = hc->start[i] + size[i];
		fde[i] = img_gcc_fde(im, cie, hc->start[i], size[i]);
		img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 8 * (i + 1));
		img_close(im, fde[i]);
	}
	img_fixed(im, 0, 4);
	while (im->len % 4 != 0)
		img_u8(im, 0);
	hc->hdr = pos = im->len;
	img_u8(im, 1);
	img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
	img_u8(im, hc->count_enc);
	img_u8(im, hc->table_enc);
	img_pcrel(im, (uintptr_t)im->buf);
	if (hc->count_enc != DWARF_PE_OMIT)
		img_fixed(im, HDR_FDES + hc->extra, 4);
	for (i = 0; i < HDR_FDES; i++) {
		img_fixed(im, (uint64_t)(hc->start[i] - (uintptr_t)(im->buf + pos)), 4);
		img_fixed(im, (uint64_t)(fde[i] - pos), 4);
	}
}

/* Finds the FDE of each pc at and around each function's bounds in object O. */
static void
check_hdr(const struct dwarf_object *o, const struct hdr_case *hc, const char *name)
{
	struct dwarf_fde	fde;
	uintptr_t		pc[4];
	int			i, j, k, want, bad = 0;

	for (i = 0; i < HDR_FDES; i++) {
		pc[0] = hc->start[i] - 1;
		pc[1] = hc->start[i];
		pc[2] = hc->end[i] - 1;
		pc[3] = hc->end[i];
		for (j = 0; j < 4; j++) {
			want = -1;
			for (k = 0; k < HDR_FDES; k++) {
				if (pc[j] >= hc->start[k] && pc[j] < hc->end[k])
					want = k;
			}
			if (want < 0 ? dwarf_fde_find(o, pc[j], &fde) == 0 :
			    dwarf_fde_find(o, pc[j], &fde) != 0 || fde.start != hc->start[want] ||
			    dwarf_fde_rule(&fde, pc[j]) != rule(0, 8 * (want + 1), 0)) {
				if (bad++ == 0)
					printf("# pc %#lx: want FDE %d\n", (unsigned long)pc[j],
					    want);
			}
		}
	}
	tap_ok(bad == 0, "%s: each function's first and last pc, and those just outside", name);
	tap_ok(dwarf_fde_find(o, 0, &fde) != 0 && dwarf_fde_find(o, UINTPTR_MAX, &fde) != 0 &&
	    dwarf_fde_find(o, o->lo, &fde) != 0, "%s: pcs outside every FDE", name);
}

/* The search of .eh_frame_hdr, and the walk when it has no usable table. */
static void
test_hdr(void)
{
	static const struct {
		int		 count_enc;	/* as in struct hdr_case */
		int		 table_enc;	/* as in struct hdr_case */
		size_t		 extra;		/* as in struct hdr_case */
		int		 table;		/* 1 if the table is to be used */
		const char	*name;		/* the case */
	} cases[] = {
		{ DWARF_PE_UDATA4, DWARF_PE_DATAREL|DWARF_PE_SDATA4, 0, 1, ".eh_frame_hdr table" },
		{ DWARF_PE_UDATA4, DWARF_PE_OMIT, 0, 0, "no table: the walk" },
		{ DWARF_PE_OMIT, DWARF_PE_DATAREL|DWARF_PE_SDATA4, 0, 0, "no count: the walk" },
		{ DWARF_PE_UDATA4, DWARF_PE_DATAREL|DWARF_PE_UDATA8, 0, 0,
		    "a table of another encoding: the walk" },
		{ DWARF_PE_UDATA4, DWARF_PE_DATAREL|DWARF_PE_SDATA4, 2, 0,
		    "a count past the end: the walk" },
	};
	struct dwarf_object	o;
	struct hdr_case		hc;
	struct img		im;
	size_t			i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&hc, 0, sizeof hc);
		hc.count_enc = cases[i].count_enc;
		hc.table_enc = cases[i].table_enc;
		hc.extra = cases[i].extra;
		img_make(&im, build_hdr, &hc);
		o = img_object(&im);
		o.hdr = im.buf + hc.hdr;
		dwarf_hdr_parse(&o);
		tap_ok(o.eh_frame == im.buf && (cases[i].table ? o.table ==
		    (const int32_t *)(im.buf + hc.hdr + 12) && o.count == HDR_FDES :
		    o.table == NULL), "%s: the hdr decoded", cases[i].name);
		check_hdr(&o, &hc, cases[i].name);
		free(im.buf);
	}
}

/* The ways build_bad breaks a record. */
enum bad_case {
	BAD_PAST_END,		/* an FDE whose length runs past the object */
	BAD_SHORT,		/* an object that ends inside an FDE's length */
	BAD_CIE_BELOW,		/* an FDE whose CIE would lie below the object */
	BAD_CIE_IS_FDE,		/* an FDE whose CIE pointer points at an FDE */
	BAD_ULEB_CIE,		/* a CIE whose code alignment LEB128 runs to its end */
	BAD_AUG_STRING,		/* a CIE, the last record, that ends before its augmentation */
	BAD_CIE_AUG_LEN,	/* a CIE whose augmentation length runs past it */
	BAD_VERSION,		/* a CIE of version 2 */
	BAD_CODE_ALIGN,		/* a CIE whose code alignment is 0 */
	BAD_AUG_LEN,		/* an FDE whose augmentation length runs past it */
	BAD_INDIRECT,		/* a CIE whose FDE addresses are indirect */
	BAD_DWARF64,		/* an FDE with the 64-bit DWARF length escape */
	BAD_TERMINATOR,		/* a zero terminator */
	BAD_N			/* number of cases */
};

/*
 * Builds the record of the enum bad_case of ARG, a struct bad_build, after a good CIE, as the
 * last thing of the image.
 */
static void
build_bad(struct img *im, void *arg)
{
	struct bad_build	*bb = arg;
	size_t			 cie, at;
	uint32_t		 len;

	cie = img_gcc_cie(im);
	at = im->len;
	switch (bb->bc) {
	case BAD_PAST_END:
		at = img_gcc_fde(im, cie, img_text(im, 0), 16);
		len = (uint32_t)(im->len - at - 4 + 100);
		memcpy(im->buf + at, &len, 4);
		break;
	case BAD_SHORT:
		img_fixed(im, 16, 2);
		break;
	case BAD_CIE_BELOW:
		img_fixed(im, 0, 4);
		img_fixed(im, im->len + 4, 4);
		img_pcrel(im, img_text(im, 0));
		img_fixed(im, 16, 4);
		img_uleb(im, 0);
		img_close(im, at);
		break;
	case BAD_CIE_IS_FDE:
		at = img_gcc_fde(im, cie, img_text(im, 0x100), 16);
		img_close(im, at);
		cie = at;
		at = img_gcc_fde(im, cie, img_text(im, 0), 16);
		img_close(im, at);
		break;
	case BAD_ULEB_CIE:
		cie = im->len;
		img_fixed(im, 0, 4);
		img_fixed(im, 0, 4);
		img_u8(im, 1);
		img_bytes(im, "zR", 3);
		img_bytes(im, "\x80\x80\x80\x80", 4);
		img_close(im, cie);
		at = img_gcc_fde(im, cie, img_text(im, 0), 16);
		img_close(im, at);
		break;
	case BAD_AUG_STRING:
		img_fixed(im, 0, 4);
		img_fixed(im, 0, 4);
		img_u8(im, 1);
		img_close(im, at);
		break;
	case BAD_CIE_AUG_LEN:
		cie = img_cie(im, 1, "zR", 1, -8, DWARF_REG_RA);
		img_uleb(im, 100);
		img_u8(im, DWARF_PE_PCREL|DWARF_PE_SDATA4);
		img_close(im, cie);
		at = img_gcc_fde(im, cie, img_text(im, 0), 16);
		img_close(im, at);
		break;
	case BAD_VERSION:
	case BAD_CODE_ALIGN:
	case BAD_INDIRECT:
		cie = img_cie(im, bb->bc == BAD_VERSION ? 2 : 1, "zR", bb->bc == BAD_CODE_ALIGN ?
		    0 : 1, -8, DWARF_REG_RA);
		img_uleb(im, 1);
		img_u8(im, (bb->bc == BAD_INDIRECT ? DWARF_PE_INDIRECT : 0) |
		    DWARF_PE_PCREL|DWARF_PE_SDATA4);
		img_close(im, cie);
		at = img_gcc_fde(im, cie, img_text(im, 0), 16);
		img_close(im, at);
		break;
	case BAD_AUG_LEN:
		at = img_fde(im, cie);
		img_pcrel(im, img_text(im, 0));
		img_fixed(im, 16, 4);
		img_uleb(im, 2);
		img_u8(im, DWARF_CFA_NOP);
		img_close(im, at);
		break;
	case BAD_DWARF64:
		img_fixed(im, 0xffffffff, 4);
		img_fixed(im, 24, 8);
		img_fixed(im, 0, 8);
		img_fixed(im, 0, 8);
		img_fixed(im, 0, 8);
		break;
	case BAD_TERMINATOR:
		img_fixed(im, 0, 4);
		break;
	}
	bb->at = at;
}

/* Records that must be refused, read within the object (the CIE of BAD_AUG_STRING as a CIE). */
static void
test_bad_records(void)
{
	static const char	*names[BAD_N] = {
		[BAD_PAST_END] = "an FDE whose length runs past the object",
		[BAD_SHORT] = "an object that ends inside a length",
		[BAD_CIE_BELOW] = "a CIE pointer below the object",
		[BAD_CIE_IS_FDE] = "a CIE pointer at an FDE",
		[BAD_ULEB_CIE] = "a CIE with an unterminated LEB128",
		[BAD_AUG_STRING] = "a CIE that ends before its augmentation string",
		[BAD_CIE_AUG_LEN] = "a CIE whose augmentation runs past it",
		[BAD_VERSION] = "a CIE of version 2",
		[BAD_CODE_ALIGN] = "a CIE with code alignment 0",
		[BAD_AUG_LEN] = "an FDE whose augmentation runs past it",
		[BAD_INDIRECT] = "indirect FDE addresses",
		[BAD_DWARF64] = "64-bit DWARF",
		[BAD_TERMINATOR] = "the terminator",
	};
	struct dwarf_object	 o;
	struct dwarf_cie	 cie;
	struct dwarf_fde	 fde;
	const uint8_t		*next;
	struct bad_build	 bb;
	struct img		 im;
	int			 bc, stop, parsed;

	for (bc = 0; bc < BAD_N; bc++) {
		bb.bc = bc;
		img_make(&im, build_bad, &bb);
		o = img_object(&im);
		if (bc == BAD_AUG_STRING) {
			parsed = dwarf_cie_parse(&o, im.buf + bb.at, &cie) == 0;
			next = (const uint8_t *)o.hi;
		} else
			parsed = dwarf_fde_parse(&o, im.buf + bb.at, &fde, &next) == 0;
		stop = bc == BAD_PAST_END || bc == BAD_SHORT || bc == BAD_DWARF64 ||
		    bc == BAD_TERMINATOR;
		o.eh_frame = im.buf;
		tap_ok(!parsed && (stop ? next == NULL : next == (const uint8_t *)o.hi) &&
		    dwarf_fde_find(&o, img_text(&im, 0), &fde) != 0, "%s: refused%s", names[bc],
		    stop ? ", and the walk stops there" : "");
		free(im.buf);
	}
}

/* The ways build_bad_program breaks a CFA program. */
enum prog_case {
	PROG_UNKNOWN,		/* an unknown opcode after 4 bytes */
	PROG_WINDOW,		/* DW_CFA_GNU_window_save after 4 bytes */
	PROG_ULEB,		/* an operand LEB128 that runs to the end of the FDE */
	PROG_EXPR_LEN,		/* a CFA expression longer than the FDE */
	PROG_REG_EXPR_LEN,	/* an expression of r12 longer than the FDE */
	PROG_UNDERFLOW,		/* DW_CFA_restore_state with nothing remembered */
	PROG_OVERFLOW,		/* nine states remembered (eight are fine) */
	PROG_SHORT_ADVANCE,	/* DW_CFA_advance_loc4 with two bytes left */
	PROG_N			/* number of cases */
};

/* Builds one FDE of 16 bytes for each enum prog_case; ARG gets their offsets. */
static void
build_bad_program(struct img *im, void *arg)
{
	size_t	*at = arg, cie;
	int	 k, i;

	cie = img_gcc_cie(im);
	for (k = 0; k < PROG_N; k++) {
		at[k] = img_gcc_fde(im, cie, img_text(im, 16 * k), 16);
		img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
		switch (k) {
		case PROG_UNKNOWN:
			img_u8(im, 0x20);
			break;
		case PROG_WINDOW:
			img_u8(im, DWARF_CFA_GNU_WINDOW_SAVE);
			break;
		case PROG_ULEB:
			img_bytes(im, "\x0e\x80\x80\x80", 4);
			break;
		case PROG_EXPR_LEN:
			img_op1(im, DWARF_CFA_DEF_CFA_EXPRESSION, 0, 3);
			img_bytes(im, "\x77\x08", 2);
			break;
		case PROG_REG_EXPR_LEN:
			img_op2(im, DWARF_CFA_EXPRESSION, 12, 0, 3);
			img_bytes(im, "\x77\x08", 2);
			break;
		case PROG_UNDERFLOW:
			img_u8(im, DWARF_CFA_RESTORE_STATE);
			break;
		case PROG_OVERFLOW:
			for (i = 0; i < 8; i++)
				img_u8(im, DWARF_CFA_REMEMBER_STATE);
			img_op1(im, DWARF_CFA_DEF_CFA_OFFSET, 0, 16);
			img_u8(im, DWARF_CFA_ADVANCE_LOC|4);
			img_u8(im, DWARF_CFA_REMEMBER_STATE);
			break;
		case PROG_SHORT_ADVANCE:
			img_u8(im, DWARF_CFA_ADVANCE_LOC4);
			img_fixed(im, 1, 2);
			break;
		}
		img_close(im, at[k]);
	}
}

/* CFA programs that must be refused where they break, and obeyed before. */
static void
test_bad_programs(void)
{
	static const char	*names[PROG_N] = {
		[PROG_UNKNOWN] = "an unknown opcode",
		[PROG_WINDOW] = "DW_CFA_GNU_window_save",
		[PROG_ULEB] = "an unterminated LEB128 operand",
		[PROG_EXPR_LEN] = "a CFA expression past the FDE's end",
		[PROG_REG_EXPR_LEN] = "a register's expression past the FDE's end",
		[PROG_UNDERFLOW] = "restore_state with nothing remembered",
		[PROG_OVERFLOW] = "nine states remembered",
		[PROG_SHORT_ADVANCE] = "advance_loc4 past the FDE's end",
	};
	struct seg	s[3];
	struct img	im;
	size_t		at[PROG_N];
	int		k;

	img_make(&im, build_bad_program, at);
	for (k = 0; k < PROG_N; k++) {
		s[0].from = 0;
		s[0].rule = rule(0, 8, 0);
		s[1].from = 4;
		s[1].rule = DWARF_RULE_COMPLEX;
		if (k == PROG_OVERFLOW) {
			s[1].rule = rule(0, 16, 0);
			s[2].from = 8;
			s[2].rule = DWARF_RULE_COMPLEX;
		}
		check_fde(&im, at[k], img_text(&im, 16 * k), 16, s, k == PROG_OVERFLOW ? 3 : 2,
		    names[k]);
	}
	free(im.buf);
}

/*
 * Builds .eh_frame_hdrs that must be refused, one after the other, the last cut short in its
 * .eh_frame pointer; ARG gets their offsets.
 */
static void
build_bad_hdr(struct img *im, void *arg)
{
	size_t	*at = arg;

	at[0] = im->len;		/* version 2 */
	img_bytes(im, "\x02\x1b\x03\x3b", 4);
	img_pcrel(im, (uintptr_t)im->buf);
	img_fixed(im, 0, 4);
	at[1] = im->len;		/* an indirect .eh_frame pointer */
	img_bytes(im, "\x01\x9b\x03\x3b", 4);
	img_pcrel(im, (uintptr_t)im->buf);
	img_fixed(im, 0, 4);
	at[2] = im->len;		/* a pointer of an unknown format */
	img_bytes(im, "\x01\x1f\x03\x3b", 4);
	img_pcrel(im, (uintptr_t)im->buf);
	img_fixed(im, 0, 4);
	at[3] = im->len;		/* a pointer past the end */
	img_bytes(im, "\x01\x1b\x03\x3b\x00\x00", 6);
}

/*
 * Builds an .eh_frame of one function of 16 bytes, and an .eh_frame_hdr whose table also has
 * pcs 0x100 and 0x200 past it with FDEs 64 bytes below the object and far past its end; ARG
 * gets the offset of the hdr.
 */
static void
build_hdr_out(struct img *im, void *arg)
{
	size_t	cie, fde, pos;

	cie = img_gcc_cie(im);
	fde = img_gcc_fde(im, cie, img_text(im, 0), 16);
	img_close(im, fde);
	img_fixed(im, 0, 4);
	*(size_t *)arg = pos = im->len;
	img_bytes(im, "\x01\x1b\x03\x3b", 4);
	img_pcrel(im, (uintptr_t)im->buf);
	img_fixed(im, 3, 4);
	img_fixed(im, (uint64_t)(img_text(im, 0) - (uintptr_t)(im->buf + pos)), 4);
	img_fixed(im, (uint64_t)(fde - pos), 4);
	img_fixed(im, (uint64_t)(img_text(im, 0x100) - (uintptr_t)(im->buf + pos)), 4);
	img_fixed(im, (uint64_t)-(int64_t)(pos + 64), 4);
	img_fixed(im, (uint64_t)(img_text(im, 0x200) - (uintptr_t)(im->buf + pos)), 4);
	img_fixed(im, 0x7ffffff0, 4);
}

/* Headers that must be refused, and a table whose FDE pointers leave the object. */
static void
test_bad_hdr(void)
{
	struct dwarf_object	 o;
	struct dwarf_fde	 fde;
	struct img		 im;
	const uint8_t		*hdr[7];
	size_t			 at[4];
	int			 i, bad = 0;

	img_make(&im, build_bad_hdr, at);
	for (i = 0; i < 4; i++)
		hdr[i] = im.buf + at[i];
	hdr[4] = im.buf + im.len - 2;		/* cut short */
	hdr[5] = im.buf + im.len;		/* just past the object */
	hdr[6] = (const uint8_t *)((uintptr_t)im.buf - 4);	/* just below it */
	for (i = 0; i < 7; i++) {
		o = img_object(&im);
		o.hdr = hdr[i];
		dwarf_hdr_parse(&o);
		if (o.eh_frame != NULL || o.table != NULL) {
			if (bad++ == 0)
				printf("# hdr %d decoded\n", i);
		}
	}
	tap_ok(bad == 0, "bad .eh_frame_hdrs: none decoded");
	free(im.buf);

	img_make(&im, build_hdr_out, at);
	o = img_object(&im);
	o.hdr = im.buf + at[0];
	dwarf_hdr_parse(&o);
	tap_ok(o.count == 3 && dwarf_fde_find(&o, img_text(&im, 0), &fde) == 0 &&
	    dwarf_fde_find(&o, img_text(&im, 0x100), &fde) != 0 &&
	    dwarf_fde_find(&o, img_text(&im, 0x200), &fde) != 0,
	    "a table whose FDEs lie below and past the object: not followed there");
	free(im.buf);
}

/* Returns a reader of the N bytes at P, copied to a heap block of exactly N bytes (1 if none). */
static struct dwarf_reader
reader(const char *p, size_t n)
{
	struct dwarf_reader	r;
	uint8_t			*b;

	if ((b = malloc(n > 0 ? n : 1)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	memcpy(b, p, n);
	r.p = b;
	r.end = b + n;
	r.bad = 0;
	return r;
}

/* The LEB128 readers. */
static void
test_leb(void)
{
	static const struct {
		const char	*bytes;		/* the encoding */
		size_t		 n;		/* its bytes */
		int		 is_signed;	/* 1 for an SLEB128 */
		uint64_t	 value;		/* its value, or 0 if bad */
		int		 bad;		/* 1 if the reader must refuse it */
	} cases[] = {
		{ "\x00", 1, 0, 0, 0 },
		{ "\x7f", 1, 0, 127, 0 },
		{ "\x80\x01", 2, 0, 128, 0 },
		{ "\xe5\x8e\x26", 3, 0, 624485, 0 },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 0, UINT64_MAX, 0 },
		{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11, 0, 0, 0 },
		{ "\x80\x80\x80", 3, 0, 0, 1 },
		{ "\x7f", 1, 1, (uint64_t)-1, 0 },
		{ "\x3f", 1, 1, 63, 0 },
		{ "\xc0\x00", 2, 1, 64, 0 },
		{ "\x40", 1, 1, (uint64_t)-64, 0 },
		{ "\xc0\xbb\x78", 3, 1, (uint64_t)-123456, 0 },
		{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10, 1, (uint64_t)INT64_MIN, 0 },
		{ "\xff\xff", 2, 1, 0, 1 },
	};
	struct dwarf_reader	r;
	const uint8_t		*b;
	uint64_t		v;
	size_t			i;
	int			bad = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r = reader(cases[i].bytes, cases[i].n);
		b = r.p;
		v = cases[i].is_signed ? (uint64_t)dwarf_read_sleb(&r) : dwarf_read_uleb(&r);
		if (r.bad != cases[i].bad || (!r.bad && (v != cases[i].value ||
		    r.p != b + cases[i].n))) {
			if (bad++ == 0)
				printf("# case %zu: got %#llx, bad %d\n", i, (unsigned long long)v,
				    r.bad);
		}
		free((void *)b);
	}
	tap_ok(bad == 0, "LEB128: values, lengths, and those past the end refused");
}

/* The pointer reader, each encoding. */
static void
test_ptr(void)
{
	static const struct {
		uint8_t		 enc;		/* the encoding */
		const char	*bytes;		/* the field */
		size_t		 n;		/* its bytes */
		int64_t		 value;		/* its value: with pcrel, from the field's address;
						   with datarel, from 0x1000 */
		int		 bad;		/* 1 if the reader must refuse it */
	} cases[] = {
		{ DWARF_PE_ABSPTR, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, 0x0807060504030201, 0 },
		{ DWARF_PE_UDATA2, "\xfe\xff", 2, 0xfffe, 0 },
		{ DWARF_PE_SDATA2, "\xfe\xff", 2, -2, 0 },
		{ DWARF_PE_UDATA4, "\xfe\xff\xff\xff", 4, 0xfffffffe, 0 },
		{ DWARF_PE_SDATA4, "\xfe\xff\xff\xff", 4, -2, 0 },
		{ DWARF_PE_UDATA8, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8, -2, 0 },
		{ DWARF_PE_SDATA8, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8, -2, 0 },
		{ DWARF_PE_ULEB128, "\x80\x01", 2, 128, 0 },
		{ DWARF_PE_SLEB128, "\x7f", 1, -1, 0 },
		{ DWARF_PE_PCREL|DWARF_PE_SDATA4, "\xf0\xff\xff\xff", 4, -16, 0 },
		{ DWARF_PE_DATAREL|DWARF_PE_SDATA4, "\x10\x00\x00\x00", 4, 0x1010, 0 },
		{ DWARF_PE_OMIT, "", 0, 0, 0 },
		{ DWARF_PE_SDATA4, "\xfe\xff\xff", 3, 0, 1 },
		{ 0x05, "\x00\x00\x00\x00", 4, 0, 1 },
		{ 0x20|DWARF_PE_SDATA4, "\x00\x00\x00\x00", 4, 0, 1 },	/* textrel */
		{ 0x40|DWARF_PE_SDATA4, "\x00\x00\x00\x00", 4, 0, 1 },	/* funcrel */
	};
	struct dwarf_reader	r;
	const uint8_t		*b;
	uintptr_t		v, want;
	size_t			i;
	int			bad = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r = reader(cases[i].bytes, cases[i].n);
		b = r.p;
		v = dwarf_read_ptr(&r, cases[i].enc, 0x1000);
		want = (uintptr_t)cases[i].value;
		if ((cases[i].enc & 0x70) == DWARF_PE_PCREL)
			want += (uintptr_t)b;
		if (r.bad != cases[i].bad || (!r.bad && (v != want || r.p != b + cases[i].n))) {
			if (bad++ == 0)
				printf("# case %zu: got %#lx, bad %d\n", i, (unsigned long)v,
				    r.bad);
		}
		free((void *)b);
	}
	r = reader("\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\x01\x02\x03\x04\x05\x06\x07\x08", 16);
	b = r.p++;
	v = dwarf_read_ptr(&r, DWARF_PE_ALIGNED, 0);
	if (r.bad || v != 0x0807060504030201 || r.p != b + 16) {
		if (bad++ == 0)
			printf("# aligned: got %#lx, bad %d\n", (unsigned long)v, r.bad);
	}
	free((void *)b);
	tap_ok(bad == 0, "encoded pointers: each encoding, and bad ones refused");
}

int
main(void)
{
	test_leb();
	test_ptr();
	test_prologue();
	test_frameless();
	test_states();
	test_kinds();
	test_augs();
	test_hdr();
	test_bad_records();
	test_bad_programs();
	test_bad_hdr();
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}
