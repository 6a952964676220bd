#!/bin/sh
# Checks that assay-worker links only core, the compute kernels and codecs
# and the clients' library: no VM, no assay-cli, no compute state machine
# (docs/architecture.md).
exec sh "$(dirname "$0")/links_check.sh" worker_links assay-worker \
	'^(vm_|asm_|cli_|contract_|compute_apply_tx$|compute_end_block$|compute_get_job$|chain_apply)' \
	rpc_client_call
