/* Tests of the opencl backend (worker/backend_opencl.c) against the reference
 * GEMM on awkward shapes, on whatever OpenCL device is present (PoCL in CI).
 * Skipped (exit 77) where no device can be opened. */
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/kernels.h"
#include "core/error.h"
#include "tests/unit/test.h"
#include "worker/backend.h"

static backend_cl_t *cl;

static void gemm_case(uint32_t m, uint32_t n, uint32_t k, uint32_t salt)
{
	int8_t *A = malloc((size_t)m * k), *Bt = malloc((size_t)n * k);
	int32_t *ref = malloc(sizeof(int32_t) * m * n), *got = malloc(sizeof(int32_t) * m * n);
	for (size_t i = 0; i < (size_t)m * k; i++)
		A[i] = (int8_t)(i * 2654435761u + salt);
	for (size_t i = 0; i < (size_t)n * k; i++)
		Bt[i] = (int8_t)(i * 40503u + 7 * salt);
	A[0] = Bt[0] = -128;
	kernel_matmul_ref(A, Bt, ref, m, n, k);
	memset(got, 0x55, sizeof(int32_t) * m * n);
	CHECK(backend_opencl_matmul_i8(cl, A, Bt, got, m, n, k) == 0);
	if (memcmp(ref, got, sizeof(int32_t) * m * n) != 0) {
		fprintf(stderr, "opencl mismatch m=%u n=%u k=%u\n", m, n, k);
		CHECK(0);
	}
	free(A);
	free(Bt);
	free(ref);
	free(got);
}

static void test_opencl_gemm(void)
{
	gemm_case(1, 1, 1, 1);
	gemm_case(16, 16, 16, 2);
	gemm_case(17, 15, 33, 3);
	gemm_case(5, 40, 1, 4);
	gemm_case(70, 33, 257, 5);
	gemm_case(128, 96, 300, 6);
	int8_t a = 1;
	int32_t c;
	CHECK(backend_opencl_matmul_i8(cl, &a, &a, &c, 1, 1, 0) == ASSAY_EARG);
}

int main(void)
{
	char err[256];
	cl = backend_opencl_create(err, sizeof(err));
	if (!cl) {
		printf("test_compute_opencl: skipped: %s\n", err);
		return 77;
	}
	fprintf(stderr, "device: %s\n", backend_opencl_device(cl));
	RUN(test_opencl_gemm);
	backend_opencl_destroy(cl);
	return test_report("test_compute_opencl");
}
