#!/bin/sh
# Checks that assay-worker links only core, the compute kernels and codecs
# and the clients' library: no VM, no assay-cli, no compute state machine
# (docs/architecture.md). Run by make check from the build directory.
set -u
bin=./assay-worker
[ -x "$bin" ] || { echo "worker_links: $bin not built"; exit 1; }
command -v nm >/dev/null 2>&1 || { echo "worker_links: SKIP: no nm"; exit 77; }
bad=$(nm "$bin" | awk '$2 == "T" || $2 == "t" || $2 == "D" || $2 == "R" || $2 == "B" { print $3 }' |
	grep -E '^(vm_|asm_|cli_|contract_|compute_apply_tx$|compute_end_block$|compute_get_job$|chain_apply)' |
	head -n 20)
if [ -n "$bad" ]; then
	echo "worker_links: assay-worker links what it must not:"
	echo "$bad"
	exit 1
fi
# and it does link the client library it should
nm "$bin" | grep -q ' T rpc_client_call$' || { echo "worker_links: no rpc_client_call"; exit 1; }
echo "worker_links: ok"
