; recurse.asm: a contract that calls its own first instruction without
; end; the VM stops it at its call depth limit (contract_errors.py).
down:
	call down
