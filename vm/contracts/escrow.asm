; escrow.asm: the standard escrow (docs/contracts.md §11). A buyer locks
; value for a seller; the buyer or the arbiter releases it to the seller;
; the arbiter may refund the buyer at any time, anyone after the timeout
; height. Not for: compute jobs (job_escrow.asm).
;
; Deploy with init(seller, arbiter, timeout_height) and the deposit as value.
; Storage: one slot holding buyer(20) seller(20) arbiter(20) timeout(u64)
; state(u64). Events: selector(4) || amount(8).

; The ABI (docs/contracts.md §10): contract build writes it to
; escrow.abi.json, and the code carries its hash.
.init
.abi init(address seller, address arbiter, u64 timeout_height) -> void
.abi deposit() -> void
.abi release() -> void
.abi refund() -> void
.abi status() -> (address buyer, address seller, address arbiter, u64 timeout_height, u64 state, amount balance)

.const REC 0x4000          ; the record, loaded from storage
.const BUYER 0x4000
.const SELLER 0x4014
.const ARBITER 0x4028
.const TIMEOUT 60          ; offsets inside the record
.const STATE 68
.const BALANCE 76          ; status appends the balance here
.const REC_LEN 76
.const CALLER 0x4100
.const SELF 0x4200
.const EV 0x4300
.const ACTIVE 0
.const RELEASED 1
.const REFUNDED 2

	jlti r1, 4, no_method
	ld32 r8, [r2 + 0]          ; selector
	jeqi r3, 1, init
	.dispatch r8, "deposit", deposit
	.dispatch r8, "release", release
	.dispatch r8, "refund", refund
	.dispatch r8, "status", status
no_method:
	.revert "unknown method"

; init(seller, arbiter, timeout): only at deploy (r3 = 1).
init:
	.dispatch r8, "init", init_args
	.revert "deploy must call init"
init_args:
	jeqi r1, 52, init_ok       ; 4 + 20 + 20 + 8
	.revert "init takes seller, arbiter, timeout"
init_ok:
	movi r1, BUYER
	sys caller
	movi r10, SELLER
	movi r11, 4
	movi r12, 48
	mcopy r10, r11, r12        ; seller, arbiter, timeout from calldata
	movi r9, REC
	movi r0, ACTIVE
	st64 [r9 + STATE], r0
	call save
	sys value
	mov r7, r0
	ldw r1, sel("Deposited")
	call emit
	ret

deposit:
	call load
	call require_active
	call get_caller
	movi r1, CALLER
	movi r2, BUYER
	call addr_eq
	.require r0, "only the buyer can deposit"
	sys value
	mov r7, r0
	ldw r1, sel("Deposited")
	call emit
	ret

release:
	call load
	call require_active
	call get_caller
	movi r1, CALLER
	movi r2, BUYER
	call addr_eq
	jnei r0, 0, release_ok
	movi r1, CALLER
	movi r2, ARBITER
	call addr_eq
	.require r0, "only the buyer or the arbiter can release"
release_ok:
	call self_balance
	mov r7, r0
	movi r1, SELLER
	mov r2, r7
	sys transfer
	movi r9, REC
	movi r0, RELEASED
	st64 [r9 + STATE], r0
	call save
	ldw r1, sel("Released")
	call emit
	ret

refund:
	call load
	call require_active
	call get_caller
	movi r1, CALLER
	movi r2, ARBITER
	call addr_eq
	jnei r0, 0, refund_ok
	sys height
	movi r9, REC
	ld64 r5, [r9 + TIMEOUT]
	jge r0, r5, refund_ok
	.revert "refund before the timeout height"
refund_ok:
	call self_balance
	mov r7, r0
	movi r1, BUYER
	mov r2, r7
	sys transfer
	movi r9, REC
	movi r0, REFUNDED
	st64 [r9 + STATE], r0
	call save
	ldw r1, sel("Refunded")
	call emit
	ret

; status() -> buyer seller arbiter timeout state balance (84 bytes)
status:
	call load
	call self_balance
	movi r9, REC
	st64 [r9 + BALANCE], r0
	movi r1, REC
	movi r2, 84
	sys return

; --- subroutines: clobber r0-r6 and r15 ---
load:
	lea r1, slot
	movi r2, REC
	movi r3, REC_LEN
	sys storage_get
	jeqi r0, REC_LEN, load_ok
	.revert "escrow not initialised"
load_ok:
	ret

save:
	lea r1, slot
	movi r2, REC
	movi r3, REC_LEN
	sys storage_set
	ret

require_active:
	movi r6, REC
	ld64 r0, [r6 + STATE]
	jeqi r0, ACTIVE, active
	.revert "escrow already settled"
active:
	ret

get_caller:
	movi r1, CALLER
	sys caller
	ret

self_balance:
	movi r1, SELF
	sys self
	movi r1, SELF
	sys balance
	ret

; addr_eq(r1, r2): r0 = 1 if the 20-byte addresses are equal
addr_eq:
	movi r0, 0
	ld64 r3, [r1 + 0]
	ld64 r4, [r2 + 0]
	jne r3, r4, differ
	ld64 r3, [r1 + 8]
	ld64 r4, [r2 + 8]
	jne r3, r4, differ
	ld32 r3, [r1 + 16]
	ld32 r4, [r2 + 16]
	jne r3, r4, differ
	movi r0, 1
differ:
	ret

; emit(r1 = event selector, r7 = amount)
emit:
	movi r6, EV
	st32 [r6 + 0], r1
	st64 [r6 + 4], r7
	movi r1, EV
	movi r2, 12
	sys emit
	ret

.data
slot:	.ascii "escrow"
	.zero 26
