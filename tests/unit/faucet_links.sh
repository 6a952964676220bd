#!/bin/sh
# Checks that assay-faucet is a client: it links core and the clients'
# library, and no node, net, VM or CLI code (docs/architecture.md). Run by
# make check from the build directory.
set -u
bin=./assay-faucet
[ -x "$bin" ] || { echo "faucet_links: $bin not built"; exit 1; }
command -v nm >/dev/null 2>&1 || { echo "faucet_links: SKIP: no nm"; exit 77; }
bad=$(nm "$bin" | awk '$2 == "T" || $2 == "t" || $2 == "D" || $2 == "R" || $2 == "B" { print $3 }' |
	grep -E '^(vm_|asm_|cli_|contract_|chain_(apply|open|build)|store_|mempool_|node_|net_book_|net_new$|exec_|bft_)' |
	head -n 20)
if [ -n "$bad" ]; then
	echo "faucet_links: assay-faucet links what it must not:"
	echo "$bad"
	exit 1
fi
nm "$bin" | grep -q ' T rpc_client_call$' || { echo "faucet_links: no rpc_client_call"; exit 1; }
nm "$bin" | grep -q ' T txbuild_sign$' || { echo "faucet_links: no txbuild_sign"; exit 1; }
echo "faucet_links: ok"
