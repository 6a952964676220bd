# vm/: bytecode VM, validator, host, assembler and standard contracts.
noinst_LIBRARIES += libassay_vm.a
libassay_vm_a_SOURCES = \
	vm/vm.c vm/vm.h vm/vm_internal.h \
	vm/validate.c vm/vm_codec.c \
	vm/asm.c vm/asm.h
VM_LIBS = libassay_vm.a $(CORE_LIBS)

check_PROGRAMS += tests/unit/test_vm
TESTS += tests/unit/test_vm
tests_unit_test_vm_SOURCES = tests/unit/test_vm.c
tests_unit_test_vm_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_vm_LDADD = $(VM_LIBS)

noinst_PROGRAMS += bench/bench_vm
bench_bench_vm_SOURCES = bench/bench_vm.c
bench_bench_vm_LDADD = $(VM_LIBS)

check_PROGRAMS += tests/unit/test_asm
TESTS += tests/unit/test_asm
tests_unit_test_asm_SOURCES = tests/unit/test_asm.c
tests_unit_test_asm_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_asm_LDADD = $(VM_LIBS)

check_PROGRAMS += tests/unit/test_vm_ledger
TESTS += tests/unit/test_vm_ledger
tests_unit_test_vm_ledger_SOURCES = tests/unit/test_vm_ledger.c
tests_unit_test_vm_ledger_LDADD = $(VM_LIBS)
