; bigmem.asm: asks the VM for far more linear memory than its 16-page cap
; (contract_errors.py). The request traps; nothing is allocated.
	movi r1, 100000
	sys mem_grow
	ret
