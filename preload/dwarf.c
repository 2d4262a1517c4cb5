/*
 * The DWARF call frame decoder: the rule that steps out of a frame at a pc, found in the
 * .eh_frame of the object that holds the pc.
 *
 * At a return address, almost all x86-64 code obeys a simple rule: the CFA (the caller's rsp) is
 * rsp + off or rbp + off, the return address is at CFA - 8, and the caller's rbp is either
 * unchanged or saved at CFA + off.  This file finds the rule of a pc by binary-searching the
 * object's .eh_frame_hdr (or, without a usable one, walking its .eh_frame), decoding the FDE and
 * its CIE and running their CFA instructions up to the pc, and packs the row it reaches in 64
 * bits (dwarf.h).  What cannot be put in a simple rule (CFA expressions as in PLT stubs or
 * realigned stacks, signal frames such as __restore_rt, other registers holding the CFA or the
 * return address) is DWARF_RULE_COMPLEX.  A frame whose return address is undefined (_start,
 * clone3) is DWARF_RULE_END: the stack ends there.
 *
 * The decoder is a pure function of the object's bytes and of the pc: no globals, no locks, no
 * allocation.  It reads through a struct dwarf_reader, whose every read is checked against an
 * end and marks the reader bad instead of going past it; a record (CIE or FDE) is opened only if
 * it lies inside the object, [lo, hi), and is then read only up to its own end, an FDE's CIE
 * must lie inside the object too, and so must the .eh_frame_hdr and its search table.  So any
 * input, truncated or malformed, is refused without a read outside the object.  Only what the
 * rule needs is kept of a row of the CFA table: the CFA, and how rbp, rsp and the return address
 * of the caller are found.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dwarf.h"

/* How a register of the caller is found, in a row of the CFA table. */
#define DWARF_SAME 0		/* unchanged; also what a register never mentioned gets */
#define DWARF_UNDEF 1		/* undefined: for the return address, the end of the stack */
#define DWARF_AT 2		/* saved at CFA + offset */
#define DWARF_OTHER 3		/* in another register, at or equal to an expression, ... */

/* Depth of DW_CFA_remember_state's stack; gcc uses one or two. */
#define DWARF_STATE_DEPTH 8

/* A row of the CFA table, for the registers that matter here. */
struct dwarf_row {
	uint64_t	cfa_reg;	/* CFA = cfa_reg + cfa_off, unless cfa_expr */
	int64_t		cfa_off;	/* see cfa_reg */
	int		cfa_expr;	/* 1 if the CFA is a DWARF expression */
	int		rbp_how;	/* how the caller's rbp is found (DWARF_SAME, ...) */
	int64_t		rbp_off;	/* its offset from the CFA when DWARF_AT */
	int		ra_how;		/* how the return address is found */
	int64_t		ra_off;		/* its offset from the CFA when DWARF_AT */
	int		rsp_how;	/* how the caller's rsp is found: normally DWARF_SAME, the CFA */
};

/* Reads one byte. */
static uint8_t
dwarf_read_u8(struct dwarf_reader *r)
{
	if (r->p >= r->end) {
		r->bad = 1;
		return 0;
	}
	return *r->p++;
}

/* Reads N (at most 8) little-endian bytes as an unsigned number. */
static uint64_t
dwarf_read_fixed(struct dwarf_reader *r, size_t n)
{
	uint64_t	v = 0;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	memcpy(&v, r->p, n);
	r->p += n;
	return v;
}

/*
 * Reads the 7-bit groups of a LEB128 number, the first lowest, as an unsigned number (bits past
 * 64 are dropped); *WIDTH gets the bits read, 7 a byte, and *LAST the last byte.
 */
static uint64_t
dwarf_read_leb(struct dwarf_reader *r, unsigned int *width, uint8_t *last)
{
	uint64_t	v = 0;
	unsigned int	shift = 0;
	uint8_t		b;

	do {
		b = dwarf_read_u8(r);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && !r->bad);
	*width = shift;
	*last = b;
	return v;
}

/* Reads an unsigned LEB128 number. */
uint64_t
dwarf_read_uleb(struct dwarf_reader *r)
{
	unsigned int	width;
	uint8_t		last;

	return dwarf_read_leb(r, &width, &last);
}

/* Reads a signed LEB128 number: bit 6 of its last byte is its sign. */
int64_t
dwarf_read_sleb(struct dwarf_reader *r)
{
	uint64_t	v;
	unsigned int	width;
	uint8_t		last;

	v = dwarf_read_leb(r, &width, &last);
	if (width < 64 && (last & 0x40))
		v |= ~(uint64_t)0 << width;
	return (int64_t)v;
}

/*
 * Reads a pointer encoded as ENC (DW_EH_PE_*), with DATA the base of datarel; an indirect
 * pointer is returned as the address it points at, not dereferenced.  Returns 0 for omit.
 */
uintptr_t
dwarf_read_ptr(struct dwarf_reader *r, uint8_t enc, uintptr_t data)
{
	uintptr_t	base, v;

	if (enc == DWARF_PE_OMIT)
		return 0;
	switch (enc & 0x70) {
	case DWARF_PE_ABSPTR:
		base = 0;
		break;
	case DWARF_PE_PCREL:
		base = (uintptr_t)r->p;
		break;
	case DWARF_PE_DATAREL:
		base = data;
		break;
	case DWARF_PE_ALIGNED:
		base = 0;
		while (((uintptr_t)r->p & 7) != 0 && r->p < r->end)
			r->p++;
		break;
	default:
		r->bad = 1;
		return 0;
	}
	switch (enc & 0x0f) {
	case DWARF_PE_ABSPTR:
	case DWARF_PE_UDATA8:
	case DWARF_PE_SDATA8:
		v = dwarf_read_fixed(r, 8);
		break;
	case DWARF_PE_ULEB128:
		v = dwarf_read_uleb(r);
		break;
	case DWARF_PE_SLEB128:
		v = (uintptr_t)dwarf_read_sleb(r);
		break;
	case DWARF_PE_UDATA2:
		v = dwarf_read_fixed(r, 2);
		break;
	case DWARF_PE_SDATA2:
		v = (uintptr_t)(int16_t)dwarf_read_fixed(r, 2);
		break;
	case DWARF_PE_UDATA4:
		v = dwarf_read_fixed(r, 4);
		break;
	case DWARF_PE_SDATA4:
		v = (uintptr_t)(int32_t)dwarf_read_fixed(r, 4);
		break;
	default:
		r->bad = 1;
		return 0;
	}
	return base + v;
}

/*
 * Starts R on the record (CIE or FDE) at P in object O: past its length, bounded by its end.
 * Returns 0, or -1 if it is a terminator, 64-bit DWARF (never seen), or not inside O.
 */
static int
dwarf_record_open(const struct dwarf_object *o, const uint8_t *p, struct dwarf_reader *r)
{
	uint64_t	len;

	if ((uintptr_t)p < o->lo || (uintptr_t)p >= o->hi)
		return -1;
	r->p = p;
	r->end = (const uint8_t *)o->hi;
	r->bad = 0;
	len = dwarf_read_fixed(r, 4);
	if (r->bad || len == 0 || len >= 0xfffffff0 || len > (uint64_t)(r->end - r->p))
		return -1;
	r->end = r->p + len;
	return 0;
}

/*
 * Decodes the CIE at P in object O into *CIE; returns 0, or -1 if it is malformed, of an unknown
 * kind or not inside O.
 */
int
dwarf_cie_parse(const struct dwarf_object *o, const uint8_t *p, struct dwarf_cie *cie)
{
	struct dwarf_reader	 r;
	const char		*aug;
	const uint8_t		*aug_end;
	uint64_t		 len;
	uint8_t			 version, penc;
	size_t			 i;

	memset(cie, 0, sizeof *cie);
	if (dwarf_record_open(o, p, &r) != 0)
		return -1;
	if (dwarf_read_fixed(&r, 4) != 0)	/* the CIE id of .eh_frame */
		return -1;
	version = dwarf_read_u8(&r);
	if (version != 1 && version != 3)
		return -1;
	aug = (const char *)r.p;
	while (dwarf_read_u8(&r) != 0 && !r.bad)
		;
	if (r.bad)		/* the string runs past the CIE: aug[] may not be read */
		return -1;
	cie->code_align = dwarf_read_uleb(&r);
	cie->data_align = dwarf_read_sleb(&r);
	cie->ra_reg = version == 1 ? dwarf_read_u8(&r) : dwarf_read_uleb(&r);
	cie->fde_enc = DWARF_PE_ABSPTR;
	if (aug[0] == 'z') {
		cie->has_aug = 1;
		len = dwarf_read_uleb(&r);
		if (r.bad || len > (uint64_t)(r.end - r.p))
			return -1;
		aug_end = r.p + len;
		for (i = 1; aug[i] != '\0' && !r.bad; i++) {
			switch (aug[i]) {
			case 'R':
				cie->fde_enc = dwarf_read_u8(&r);
				break;
			case 'P':
				penc = dwarf_read_u8(&r);
				dwarf_read_ptr(&r, penc & ~DWARF_PE_INDIRECT, 0);
				break;
			case 'L':
				dwarf_read_u8(&r);
				break;
			case 'S':
				cie->signal = 1;
				break;
			case 'B':
				break;
			default:
				/* Unknown, but 'z' says where the data ends. */
				i = strlen(aug) - 1;
				break;
			}
		}
		r.p = aug_end;
	} else if (aug[0] != '\0')
		return -1;
	if (r.bad || cie->code_align == 0)
		return -1;
	cie->insns = r.p;
	cie->end = r.end;
	return 0;
}

/*
 * Decodes the FDE at P in object O (and its CIE) into *FDE; returns 0, or -1 if P is a CIE, a
 * terminator, malformed or not inside O.  *NEXT is set to the record after P (NULL after a
 * terminator or a record that does not fit in O).
 */
int
dwarf_fde_parse(const struct dwarf_object *o, const uint8_t *p, struct dwarf_fde *fde,
    const uint8_t **next)
{
	struct dwarf_reader	 r;
	const uint8_t		*id_at;
	uint64_t		 id, aug_len;

	*next = NULL;
	if (dwarf_record_open(o, p, &r) != 0)
		return -1;
	*next = r.end;
	id_at = r.p;
	id = dwarf_read_fixed(&r, 4);
	if (id == 0 || id > (uintptr_t)id_at - o->lo)	/* a CIE (or no id), or one outside O */
		return -1;
	if (dwarf_cie_parse(o, id_at - id, &fde->cie) != 0)
		return -1;
	fde->start = dwarf_read_ptr(&r, fde->cie.fde_enc & ~DWARF_PE_INDIRECT, 0);
	fde->end = fde->start + dwarf_read_ptr(&r, fde->cie.fde_enc & 0x0f, 0);
	if (fde->cie.fde_enc & DWARF_PE_INDIRECT)
		return -1;
	if (fde->cie.has_aug) {
		aug_len = dwarf_read_uleb(&r);
		if (r.bad || aug_len > (uint64_t)(r.end - r.p))
			return -1;
		r.p += aug_len;
	}
	if (r.bad)
		return -1;
	fde->insns = r.p;
	fde->insns_end = r.end;
	return 0;
}

/* Records that the caller's register REG is found as HOW with offset OFF in ROW. */
static void
dwarf_row_set(struct dwarf_row *row, uint64_t reg, int how, int64_t off)
{
	switch (reg) {
	case DWARF_REG_RBP:
		row->rbp_how = how;
		row->rbp_off = off;
		break;
	case DWARF_REG_RSP:
		row->rsp_how = how;
		break;
	case DWARF_REG_RA:
		row->ra_how = how;
		row->ra_off = off;
		break;
	}
}

/* Restores register REG of ROW to its rule in INIT (the row after the CIE's instructions). */
static void
dwarf_row_restore(struct dwarf_row *row, const struct dwarf_row *init, uint64_t reg)
{
	if (init == NULL)
		dwarf_row_set(row, reg, DWARF_SAME, 0);
	else if (reg == DWARF_REG_RBP)
		dwarf_row_set(row, reg, init->rbp_how, init->rbp_off);
	else if (reg == DWARF_REG_RA)
		dwarf_row_set(row, reg, init->ra_how, init->ra_off);
	else if (reg == DWARF_REG_RSP)
		dwarf_row_set(row, reg, init->rsp_how, 0);
}

/*
 * Runs the CFA instructions in [P, END) on ROW from location LOC until the location passes
 * TARGET; INIT is the row after the CIE's instructions, NULL while running those.  Returns 0, or
 * -1 if the instructions are malformed or unknown.
 */
static int
dwarf_cfa_run(const uint8_t *p, const uint8_t *end, const struct dwarf_cie *cie,
    uintptr_t loc, uintptr_t target, struct dwarf_row *row, const struct dwarf_row *init)
{
	struct dwarf_reader	r = { p, end, 0 };
	struct dwarf_row	stack[DWARF_STATE_DEPTH];
	int			depth = 0;
	uint64_t		reg, len;
	int64_t			off;
	uint8_t			op;

	while (r.p < r.end && !r.bad) {
		op = dwarf_read_u8(&r);
		switch (op & 0xc0) {
		case DWARF_CFA_ADVANCE_LOC:
			loc += (op & 0x3f) * cie->code_align;
			if (loc > target)
				return 0;
			continue;
		case DWARF_CFA_OFFSET:
			off = (int64_t)dwarf_read_uleb(&r) * cie->data_align;
			dwarf_row_set(row, op & 0x3f, DWARF_AT, off);
			continue;
		case DWARF_CFA_RESTORE:
			dwarf_row_restore(row, init, op & 0x3f);
			continue;
		}
		switch (op) {
		case DWARF_CFA_NOP:
			break;
		case DWARF_CFA_SET_LOC:
			loc = dwarf_read_ptr(&r, cie->fde_enc & ~DWARF_PE_INDIRECT, 0);
			if (loc > target)
				return 0;
			break;
		case DWARF_CFA_ADVANCE_LOC1:
		case DWARF_CFA_ADVANCE_LOC2:
		case DWARF_CFA_ADVANCE_LOC4:
			len = op == DWARF_CFA_ADVANCE_LOC1 ? 1 : op == DWARF_CFA_ADVANCE_LOC2 ? 2 : 4;
			loc += dwarf_read_fixed(&r, len) * cie->code_align;
			if (loc > target)
				return 0;
			break;
		case DWARF_CFA_OFFSET_EXTENDED:
			reg = dwarf_read_uleb(&r);
			off = (int64_t)dwarf_read_uleb(&r) * cie->data_align;
			dwarf_row_set(row, reg, DWARF_AT, off);
			break;
		case DWARF_CFA_OFFSET_EXTENDED_SF:
			reg = dwarf_read_uleb(&r);
			off = dwarf_read_sleb(&r) * cie->data_align;
			dwarf_row_set(row, reg, DWARF_AT, off);
			break;
		case DWARF_CFA_GNU_NEGATIVE_OFFSET_EXTENDED:
			reg = dwarf_read_uleb(&r);
			off = -(int64_t)dwarf_read_uleb(&r) * cie->data_align;
			dwarf_row_set(row, reg, DWARF_AT, off);
			break;
		case DWARF_CFA_RESTORE_EXTENDED:
			dwarf_row_restore(row, init, dwarf_read_uleb(&r));
			break;
		case DWARF_CFA_UNDEFINED:
			dwarf_row_set(row, dwarf_read_uleb(&r), DWARF_UNDEF, 0);
			break;
		case DWARF_CFA_SAME_VALUE:
			dwarf_row_set(row, dwarf_read_uleb(&r), DWARF_SAME, 0);
			break;
		case DWARF_CFA_REGISTER:
			reg = dwarf_read_uleb(&r);
			dwarf_read_uleb(&r);
			dwarf_row_set(row, reg, DWARF_OTHER, 0);
			break;
		case DWARF_CFA_VAL_OFFSET:
			reg = dwarf_read_uleb(&r);
			dwarf_read_uleb(&r);
			dwarf_row_set(row, reg, DWARF_OTHER, 0);
			break;
		case DWARF_CFA_VAL_OFFSET_SF:
			reg = dwarf_read_uleb(&r);
			dwarf_read_sleb(&r);
			dwarf_row_set(row, reg, DWARF_OTHER, 0);
			break;
		case DWARF_CFA_REMEMBER_STATE:
			/* The CFA rule is part of the state: gcc's epilogues rely on it. */
			if (depth == DWARF_STATE_DEPTH)
				return -1;
			stack[depth++] = *row;
			break;
		case DWARF_CFA_RESTORE_STATE:
			if (depth == 0)
				return -1;
			*row = stack[--depth];
			break;
		case DWARF_CFA_DEF_CFA:
			row->cfa_reg = dwarf_read_uleb(&r);
			row->cfa_off = (int64_t)dwarf_read_uleb(&r);
			row->cfa_expr = 0;
			break;
		case DWARF_CFA_DEF_CFA_SF:
			row->cfa_reg = dwarf_read_uleb(&r);
			row->cfa_off = dwarf_read_sleb(&r) * cie->data_align;
			row->cfa_expr = 0;
			break;
		case DWARF_CFA_DEF_CFA_REGISTER:
			row->cfa_reg = dwarf_read_uleb(&r);
			break;
		case DWARF_CFA_DEF_CFA_OFFSET:
			row->cfa_off = (int64_t)dwarf_read_uleb(&r);
			break;
		case DWARF_CFA_DEF_CFA_OFFSET_SF:
			row->cfa_off = dwarf_read_sleb(&r) * cie->data_align;
			break;
		case DWARF_CFA_DEF_CFA_EXPRESSION:
			len = dwarf_read_uleb(&r);
			if (len > (uint64_t)(r.end - r.p))
				return -1;
			r.p += len;
			row->cfa_expr = 1;
			break;
		case DWARF_CFA_EXPRESSION:
		case DWARF_CFA_VAL_EXPRESSION:
			reg = dwarf_read_uleb(&r);
			len = dwarf_read_uleb(&r);
			if (len > (uint64_t)(r.end - r.p))
				return -1;
			r.p += len;
			dwarf_row_set(row, reg, DWARF_OTHER, 0);
			break;
		case DWARF_CFA_GNU_ARGS_SIZE:
			/* Matters to landing pads, not to finding the CFA. */
			dwarf_read_uleb(&r);
			break;
		case DWARF_CFA_GNU_WINDOW_SAVE:
			/* SPARC and AArch64 only. */
			return -1;
		default:
			return -1;
		}
	}
	return r.bad ? -1 : 0;
}

/* Packs the rule of ROW (of a frame that is a signal frame if SIGNAL) into 64 bits. */
static uint64_t
dwarf_rule_pack(const struct dwarf_row *row, int signal)
{
	uint64_t	rule;

	if (row->ra_how == DWARF_UNDEF)
		return DWARF_RULE_END;
	if (signal || row->cfa_expr || row->ra_how != DWARF_AT || row->ra_off != -8 ||
	    row->rsp_how != DWARF_SAME)
		return DWARF_RULE_COMPLEX;
	if (row->cfa_off < INT32_MIN || row->cfa_off > INT32_MAX)
		return DWARF_RULE_COMPLEX;
	if (row->cfa_reg == DWARF_REG_RSP)
		rule = DWARF_RULE_SIMPLE;
	else if (row->cfa_reg == DWARF_REG_RBP)
		rule = DWARF_RULE_SIMPLE|DWARF_RULE_CFA_RBP;
	else
		return DWARF_RULE_COMPLEX;
	rule |= (uint64_t)(uint32_t)(int32_t)row->cfa_off << 32;
	switch (row->rbp_how) {
	case DWARF_SAME:
		break;
	case DWARF_AT:
		if (row->rbp_off < INT16_MIN || row->rbp_off > INT16_MAX)
			return DWARF_RULE_COMPLEX;
		rule |= DWARF_RULE_RBP_SAVED | (uint64_t)(uint16_t)(int16_t)row->rbp_off << 16;
		break;
	default:
		return DWARF_RULE_COMPLEX;
	}
	return rule;
}

/* Returns the rule at TARGET (a pc inside the call) of the frame described by FDE. */
uint64_t
dwarf_fde_rule(const struct dwarf_fde *fde, uintptr_t target)
{
	struct dwarf_row	row, init;

	if (fde->cie.ra_reg != DWARF_REG_RA)
		return DWARF_RULE_COMPLEX;
	memset(&row, 0, sizeof row);
	if (dwarf_cfa_run(fde->cie.insns, fde->cie.end, &fde->cie, fde->start, UINTPTR_MAX, &row,
	    NULL) != 0)
		return DWARF_RULE_COMPLEX;
	init = row;
	if (dwarf_cfa_run(fde->insns, fde->insns_end, &fde->cie, fde->start, target, &row,
	    &init) != 0)
		return DWARF_RULE_COMPLEX;
	return dwarf_rule_pack(&row, fde->cie.signal);
}

/* Finds the FDE of object O that covers address A into *FDE; returns 0, or -1 if none. */
int
dwarf_fde_find(const struct dwarf_object *o, uintptr_t a, struct dwarf_fde *fde)
{
	const uint8_t	*p, *next;
	int64_t		 rel;
	size_t		 lo, hi, mid;

	if (o->table != NULL) {
		/* The last pair whose pc is at most a. */
		rel = (int64_t)(a - (uintptr_t)o->hdr);
		if (o->count == 0 || o->table[0] > rel)
			return -1;
		lo = 0;
		hi = o->count;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (o->table[2 * mid] <= rel)
				lo = mid;
			else
				hi = mid;
		}
		p = o->hdr + o->table[2 * lo + 1];
		if (dwarf_fde_parse(o, p, fde, &next) != 0)
			return -1;
		return a >= fde->start && a < fde->end ? 0 : -1;
	}
	if (o->eh_frame == NULL)
		return -1;
	/* No usable search table: walk .eh_frame to its zero terminator. */
	for (p = o->eh_frame; p != NULL; p = next) {
		if (dwarf_fde_parse(o, p, fde, &next) == 0 && a >= fde->start && a < fde->end)
			return 0;
	}
	return -1;
}

/*
 * Decodes the .eh_frame_hdr of object O, setting its eh_frame and search table: those of a
 * header or a table that does not fit in O stay unset.
 */
void
dwarf_hdr_parse(struct dwarf_object *o)
{
	struct dwarf_reader	r;
	const uint8_t		*h = o->hdr;
	uintptr_t		 count;

	if (h == NULL || (uintptr_t)h < o->lo || (uintptr_t)h >= o->hi ||
	    o->hi - (uintptr_t)h < 4 || h[0] != 1)
		return;
	r.p = h + 4;
	r.end = (const uint8_t *)o->hi;
	r.bad = 0;
	o->eh_frame = (const uint8_t *)dwarf_read_ptr(&r, h[1] & ~DWARF_PE_INDIRECT,
	    (uintptr_t)h);
	if (r.bad || (h[1] & DWARF_PE_INDIRECT)) {
		o->eh_frame = NULL;
		return;
	}
	if (h[2] == DWARF_PE_OMIT)
		return;
	count = dwarf_read_ptr(&r, h[2] & ~DWARF_PE_INDIRECT, (uintptr_t)h);
	if (r.bad || h[3] != (DWARF_PE_DATAREL|DWARF_PE_SDATA4) ||
	    count > (uintptr_t)(r.end - r.p) / (2 * sizeof *o->table))
		return;
	o->table = (const int32_t *)r.p;
	o->count = count;
}
