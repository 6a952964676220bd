/* assay-cli's entry point; everything else is in the wallet library so that
 * tests can drive the same code (cli.h, cli_commands.c). */
#include "wallet/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
