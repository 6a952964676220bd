; job_escrow.asm: pays for a compute job (docs/contracts.md §11). At deploy
; the buyer locks value, names the provider to be paid and the job: the
; contract submits the job (as payer), keeps its id and names it in the
; JobFunded event. settle() pays the provider what it is due once the job is
; verified (paid to its workers, past the dispute window) and the buyer
; everything else (slash compensation, unspent checking fees), and refunds
; the buyer in full once the job failed or expired. Not for: plain escrow
; between people (escrow.asm).
;
; Deploy with init(provider) || job payload bytes, and the value.
; Storage: one slot holding buyer(20) provider(20) job_id(32) state(u64)
; due(u64): the provider's pay, the balance left right after job_submit.

; The ABI (docs/contracts.md §10); job is the canonical job_spec payload.
.init
.abi init(address provider, bytes job) -> void
.abi settle() -> void
.abi status() -> (address buyer, address provider, bytes32 job_id, u64 state, amount balance)

.const REC 0x4000
.const BUYER 0x4000
.const PROVIDER 0x4014
.const JOB 0x4028
.const STATE 72
.const BALANCE 80
.const DUE 80
.const REC_LEN 88
.const SELF 0x4200
.const EV 0x4300
.const ACTIVE 0
.const PAID 1
.const REFUNDED 2
.const JOB_VERIFIED 1
.const JOB_FAILED 2

	jlti r1, 4, no_method
	ld32 r8, [r2 + 0]
	jeqi r3, 1, init
	.dispatch r8, "settle", settle
	.dispatch r8, "status", status
no_method:
	.revert "unknown method"

init:
	.dispatch r8, "init", init_args
	.revert "deploy must call init"
init_args:
	jgti r1, 24, init_ok       ; 4 + 20 + a non-empty job payload
	.revert "init takes provider and a job payload"
init_ok:
	mov r7, r1
	movi r1, BUYER
	sys caller
	movi r10, PROVIDER
	movi r11, 4
	movi r12, 20
	mcopy r10, r11, r12
	movi r1, 24
	subi r2, r7, 24
	movi r3, JOB
	sys job_submit
	movi r9, REC
	movi r0, ACTIVE
	st64 [r9 + STATE], r0
	call self_balance          ; the provider's due: value - reward - checking fees
	movi r9, REC
	st64 [r9 + DUE], r0
	call save
	sys value                  ; JobFunded: selector, value, job id (44 bytes)
	movi r6, EV
	ldw r1, sel("JobFunded")
	st32 [r6 + 0], r1
	st64 [r6 + 4], r0
	movi r10, EV + 12
	movi r11, JOB
	movi r12, 32
	mcopy r10, r11, r12
	movi r1, EV
	movi r2, 44
	sys emit
	ret

settle:
	call load
	movi r6, REC
	ld64 r0, [r6 + STATE]
	jeqi r0, ACTIVE, settle_active
	.revert "job escrow already settled"
settle_active:
	movi r1, JOB
	sys job_status
	jeqi r0, JOB_VERIFIED, pay
	jeqi r0, JOB_FAILED, refund
	.revert "job not finished"
; Paid: the provider gets its due, never more; what came back to the
; contract as the job's submitter (a slashed worker's compensation, the
; unspent checking fees) is the buyer's, who funded the job.
pay:
	movi r6, REC
	ld64 r7, [r6 + DUE]
	call self_balance
	jge r0, r7, pay_due
	mov r7, r0                 ; cannot happen: the balance only grows after init
pay_due:
	sub r11, r0, r7            ; the buyer's part
	movi r1, PROVIDER
	mov r2, r7
	sys transfer
	jeqi r11, 0, pay_done
	movi r1, BUYER
	mov r2, r11
	sys transfer
pay_done:
	movi r6, REC
	movi r9, PAID
	st64 [r6 + STATE], r9
	call save
	ldw r1, sel("Paid")
	call emit
	ret
refund:
	movi r8, BUYER
	movi r9, REFUNDED
	ldw r10, sel("Refunded")
payout:
	call self_balance
	mov r7, r0
	mov r1, r8
	mov r2, r7
	sys transfer
	movi r6, REC
	st64 [r6 + STATE], r9
	call save
	mov r1, r10
	call emit
	ret

; status() -> buyer provider job_id state balance (88 bytes)
status:
	call load
	call self_balance
	movi r9, REC
	st64 [r9 + BALANCE], r0
	movi r1, REC
	movi r2, 88
	sys return

load:
	lea r1, slot
	movi r2, REC
	movi r3, REC_LEN
	sys storage_get
	jeqi r0, REC_LEN, load_ok
	.revert "job escrow not initialised"
load_ok:
	ret

save:
	lea r1, slot
	movi r2, REC
	movi r3, REC_LEN
	sys storage_set
	ret

self_balance:
	movi r1, SELF
	sys self
	movi r1, SELF
	sys balance
	ret

emit:
	movi r6, EV
	st32 [r6 + 0], r1
	st64 [r6 + 4], r7
	movi r1, EV
	movi r2, 12
	sys emit
	ret

.data
slot:	.ascii "job_escrow"
	.zero 22
