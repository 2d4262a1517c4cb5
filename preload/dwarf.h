/*
 * The DWARF call frame decoder of the unwinder: from the .eh_frame and .eh_frame_hdr of a loaded
 * object, the rule that steps out of a frame at a pc, packed in 64 bits.  dwarf.c describes what
 * it decodes and how; unwind.c caches the rules by pc and unwinds with them.
 *
 * Everything here is a function of bytes in memory and of addresses: no state, no lock, no
 * allocation, no system call, safe to call from any thread at once.  Every read stays inside
 * the object, [lo, hi) of its struct dwarf_object, so malformed input is refused, never a fault.
 *
 * A packed rule is a uint64_t.  Its kind, in bits 0-1, is DWARF_RULE_SIMPLE, DWARF_RULE_COMPLEX
 * or DWARF_RULE_END; a simple rule also has the flags DWARF_RULE_CFA_RBP and DWARF_RULE_RBP_SAVED
 * in bits 2-3, the offset of the saved rbp from the CFA in bits 16-31 and the offset of the CFA
 * in bits 32-63, both signed.  At a pc whose rule R is simple, with the frame's registers rsp and
 * rbp (the CFA is the caller's rsp):
 *	CFA = ((R & DWARF_RULE_CFA_RBP) ? rbp : rsp) + dwarf_rule_cfa_off(R)
 *	return address = *(CFA - 8)
 *	caller's rbp = (R & DWARF_RULE_RBP_SAVED) ? *(CFA + dwarf_rule_rbp_off(R)) : rbp
 * Invariants: bits 4-15 are 0; bits 16-31 are 0 unless DWARF_RULE_RBP_SAVED; the other kinds
 * have no bit set but their kind's; DWARF_RULE_NONE (0) is no decoded rule.
 */
#ifndef HS_DWARF_H
#define HS_DWARF_H

#include <stddef.h>
#include <stdint.h>

/* Kinds of a packed rule, DWARF_RULE_KIND(rule), and the flags of a simple one. */
#define DWARF_RULE_NONE 0	/* no rule: what the decoder never returns (the unwinder's
				   empty slot) */
#define DWARF_RULE_SIMPLE 1	/* the rule in the other bits applies */
#define DWARF_RULE_COMPLEX 2	/* not expressible so: the unwinder asks libunwind */
#define DWARF_RULE_END 3	/* the stack ends at this pc */
#define DWARF_RULE_KIND(r) ((r) & 3)
#define DWARF_RULE_CFA_RBP 4	/* CFA = rbp + off; without it CFA = rsp + off */
#define DWARF_RULE_RBP_SAVED 8	/* the caller's rbp is at CFA + rbp offset; without it unchanged */

/* DWARF register numbers of x86-64 (System V psABI). */
#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RA 16

/* Pointer encodings of .eh_frame (DW_EH_PE_*). */
#define DWARF_PE_OMIT 0xff
#define DWARF_PE_ABSPTR 0x00
#define DWARF_PE_ULEB128 0x01
#define DWARF_PE_UDATA2 0x02
#define DWARF_PE_UDATA4 0x03
#define DWARF_PE_UDATA8 0x04
#define DWARF_PE_SLEB128 0x09
#define DWARF_PE_SDATA2 0x0a
#define DWARF_PE_SDATA4 0x0b
#define DWARF_PE_SDATA8 0x0c
#define DWARF_PE_PCREL 0x10
#define DWARF_PE_DATAREL 0x30
#define DWARF_PE_ALIGNED 0x50
#define DWARF_PE_INDIRECT 0x80

/* Call frame instructions (DW_CFA_*); the first three carry an operand in their low 6 bits. */
#define DWARF_CFA_ADVANCE_LOC 0x40
#define DWARF_CFA_OFFSET 0x80
#define DWARF_CFA_RESTORE 0xc0
#define DWARF_CFA_NOP 0x00
#define DWARF_CFA_SET_LOC 0x01
#define DWARF_CFA_ADVANCE_LOC1 0x02
#define DWARF_CFA_ADVANCE_LOC2 0x03
#define DWARF_CFA_ADVANCE_LOC4 0x04
#define DWARF_CFA_OFFSET_EXTENDED 0x05
#define DWARF_CFA_RESTORE_EXTENDED 0x06
#define DWARF_CFA_UNDEFINED 0x07
#define DWARF_CFA_SAME_VALUE 0x08
#define DWARF_CFA_REGISTER 0x09
#define DWARF_CFA_REMEMBER_STATE 0x0a
#define DWARF_CFA_RESTORE_STATE 0x0b
#define DWARF_CFA_DEF_CFA 0x0c
#define DWARF_CFA_DEF_CFA_REGISTER 0x0d
#define DWARF_CFA_DEF_CFA_OFFSET 0x0e
#define DWARF_CFA_DEF_CFA_EXPRESSION 0x0f
#define DWARF_CFA_EXPRESSION 0x10
#define DWARF_CFA_OFFSET_EXTENDED_SF 0x11
#define DWARF_CFA_DEF_CFA_SF 0x12
#define DWARF_CFA_DEF_CFA_OFFSET_SF 0x13
#define DWARF_CFA_VAL_OFFSET 0x14
#define DWARF_CFA_VAL_OFFSET_SF 0x15
#define DWARF_CFA_VAL_EXPRESSION 0x16
#define DWARF_CFA_GNU_WINDOW_SAVE 0x2d
#define DWARF_CFA_GNU_ARGS_SIZE 0x2e
#define DWARF_CFA_GNU_NEGATIVE_OFFSET_EXTENDED 0x2f

/*
 * A loaded object, as dl_iterate_phdr reports it: its extent, which bounds every read, and
 * where its call frame information lies.  lo < hi.
 */
struct dwarf_object {
	uintptr_t	 lo;		/* lowest address of its PT_LOAD segments */
	uintptr_t	 hi;		/* end of its highest PT_LOAD segment */
	const uint8_t	*hdr;		/* its .eh_frame_hdr (PT_GNU_EH_FRAME), NULL if none */
	const uint8_t	*eh_frame;	/* start of its .eh_frame, NULL if unknown */
	const int32_t	*table;		/* the hdr's sorted (pc, FDE) pairs, hdr-relative, or NULL */
	size_t		 count;		/* pairs in table */
};

/* What a CIE says about the FDEs that use it. */
struct dwarf_cie {
	uint64_t	 code_align;	/* factor of advance_loc deltas */
	int64_t		 data_align;	/* factor of register offsets */
	uint64_t	 ra_reg;	/* the column of the return address */
	uint8_t		 fde_enc;	/* encoding of the FDEs' addresses ('R') */
	int		 has_aug;	/* 1 if FDEs carry augmentation data ('z') */
	int		 signal;	/* 1 for a signal frame ('S') */
	const uint8_t	*insns;		/* its initial instructions */
	const uint8_t	*end;		/* their end, the end of the CIE */
};

/* A decoded FDE. */
struct dwarf_fde {
	uintptr_t		 start;		/* first pc it covers */
	uintptr_t		 end;		/* end of the pcs it covers */
	const uint8_t		*insns;		/* its instructions */
	const uint8_t		*insns_end;	/* their end, the end of the FDE */
	struct dwarf_cie	 cie;		/* its CIE */
};

/* A bounded reader of .eh_frame bytes. */
struct dwarf_reader {
	const uint8_t	*p;		/* next byte */
	const uint8_t	*end;		/* end of what may be read */
	int		 bad;		/* 1 once a read went past end or met an unknown encoding */
};

/* Reads an unsigned LEB128 number. */
uint64_t	dwarf_read_uleb(struct dwarf_reader *r);
/* Reads a signed LEB128 number. */
int64_t		dwarf_read_sleb(struct dwarf_reader *r);
/*
 * Reads a pointer encoded as ENC (DW_EH_PE_*), with DATA the base of datarel; an indirect
 * pointer is returned as the address it points at, not dereferenced.  Returns 0 for omit.
 */
uintptr_t	dwarf_read_ptr(struct dwarf_reader *r, uint8_t enc, uintptr_t data);
/*
 * Decodes the .eh_frame_hdr of object O, O->hdr, setting O->eh_frame and its search table:
 * those of a header or a table that does not fit in O stay unset.
 */
void		dwarf_hdr_parse(struct dwarf_object *o);
/*
 * Decodes the CIE at P in object O into *CIE; returns 0, or -1 if it is malformed, of an unknown
 * kind or not inside O.
 */
int		dwarf_cie_parse(const struct dwarf_object *o, const uint8_t *p,
		    struct dwarf_cie *cie);
/*
 * Decodes the FDE at P in object O (and its CIE) into *FDE; returns 0, or -1 if P is a CIE, a
 * terminator, malformed or not inside O.  *NEXT is set to the record after P (NULL after a
 * terminator or a record that does not fit in O).
 */
int		dwarf_fde_parse(const struct dwarf_object *o, const uint8_t *p,
		    struct dwarf_fde *fde, const uint8_t **next);
/* Finds the FDE of object O that covers address A into *FDE; returns 0, or -1 if none. */
int		dwarf_fde_find(const struct dwarf_object *o, uintptr_t a, struct dwarf_fde *fde);
/* Returns the packed rule at TARGET (a pc inside the call) of the frame described by FDE. */
uint64_t	dwarf_fde_rule(const struct dwarf_fde *fde, uintptr_t target);

/* Returns the CFA offset of a simple rule. */
static inline int64_t
dwarf_rule_cfa_off(uint64_t rule)
{
	return (int64_t)(int32_t)(uint32_t)(rule >> 32);
}

/* Returns the offset from the CFA of the saved rbp of a simple rule. */
static inline int64_t
dwarf_rule_rbp_off(uint64_t rule)
{
	return (int64_t)(int16_t)(uint16_t)(rule >> 16);
}

#endif
