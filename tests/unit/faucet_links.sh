#!/bin/sh
# Checks that assay-faucet is a client: it links core and the clients'
# library, and no node, net, VM or CLI code (docs/architecture.md).
exec sh "$(dirname "$0")/links_check.sh" faucet_links assay-faucet \
	'^(vm_|asm_|cli_|contract_|chain_(apply|open|build)|store_|mempool_|node_|net_book_|net_new$|exec_|bft_)' \
	rpc_client_call txbuild_sign
