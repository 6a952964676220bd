; loop.asm: a contract whose every call spins until its gas runs out
; (tests/functional/contract_errors.py). Not for: anything useful.
spin:
	jmp spin
