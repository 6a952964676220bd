; spam.asm: spam() writes a fresh storage slot per iteration, and a counter,
; until the gas limit stops it; fill(n) does the same n times and stops;
; count() returns the counter that persisted (contract_errors.py: a call
; that runs out of gas keeps none of its writes).
.const SLOT 0x1000          ; 32-byte slot key; its first 8 bytes count up
.const CSLOT 0x1100         ; the counter's slot key: all zero
.const OUT 0x1200

	jlti r1, 4, no_method
	ld32 r8, [r2 + 0]
	.dispatch r8, "spam", spam
	.dispatch r8, "fill", fill
	.dispatch r8, "count", count
no_method:
	.revert "unknown method"

spam:
	movi r6, -1                ; never reached
	jmp fill_from
fill:
	jeqi r1, 12, fill_args     ; selector + u64
	.revert "fill takes a count"
fill_args:
	ld64 r6, [r2 + 4]
fill_from:
	movi r9, SLOT
	movi r7, 0
again:
	jeq r7, r6, filled
	addi r7, r7, 1
	st64 [r9 + 0], r7
	movi r1, SLOT
	movi r2, SLOT
	movi r3, 8
	sys storage_set
	movi r1, CSLOT
	movi r2, SLOT
	movi r3, 8
	sys storage_set
	jmp again
filled:
	ret

count:
	movi r1, CSLOT
	movi r2, OUT
	movi r3, 8
	sys storage_get
	movi r1, OUT
	movi r2, 8
	sys return
