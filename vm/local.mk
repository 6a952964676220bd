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
