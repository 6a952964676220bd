/* Compute backends of assay-worker: fast kernels that must agree bit for bit
 * with the reference kernels in consensus/compute/kernels.h (same layouts: A
 * row-major m x k, B column-major, i.e. Bt row-major n x k; C row-major
 * int32). The cpu backend blocks for cache, uses AVX-512 VNNI or AVX2 when
 * the CPU has them (runtime dispatch) and splits rows over pthreads. Not
 * for: job I/O. */
#ifndef ASSAY_WORKER_BACKEND_H
#define ASSAY_WORKER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"

/* Threads the cpu backend starts at most for one call. */
#define BACKEND_MAX_THREADS 256

enum backend_isa {
	BACKEND_ISA_PORTABLE = 0,
	BACKEND_ISA_AVX2 = 1,       /* _mm256_madd_epi16 on int16 pairs */
	BACKEND_ISA_AVX512VNNI = 2, /* vpdpbusd on groups of four bytes */
};

/* "avx512vnni", "avx2" or "portable": the path backend_cpu_matmul_i8 takes
 * on this CPU under the current cap. */
const char *backend_cpu_isa(void);
/* Caps dispatch at an enum backend_isa level (default: the best); for tests
 * and benchmarks. Not thread-safe against running multiplications. */
void backend_cpu_set_isa(int cap);
/* backend_cpu_set_isa(PORTABLE) when force, else back to the best. */
void backend_cpu_force_portable(int force);

/* C = A . B with A m x k int8 (row-major), B given column by column (Bt, n x
 * k), C m x n int32. threads <= 0 means one per online CPU. k <= KERNEL_MAX_K.
 * Keeps its packing buffer (if at most 64 MiB) for the next call. 0,
 * ASSAY_EARG or ASSAY_ENOMEM. */
int backend_cpu_matmul_i8(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t m, uint32_t n,
			  uint32_t k, int threads);
/* The whole mlp-i8 output (m x n int8) of a job whose inputs are in[] (as
 * kernel_src_load gives them) and, when pre is not NULL, its pre-activations
 * (mlp_pre_bytes(s, m) bytes, the whole-job layout of mlp.h: the products
 * the GEMMs give anyway). 0, ASSAY_EARG or ASSAY_ENOMEM. */
int backend_cpu_mlp_i8(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], int8_t *out,
		       uint8_t *pre, int threads);
/* Either kind: *out malloc()ed (kernel_output_bytes), the caller frees; for
 * mlp and pre not NULL also *pre (whole-job pre-activations, malloc()ed),
 * else *pre = NULL. */
int backend_cpu_compute(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
			uint8_t **out, uint8_t **pre, int threads);

/* The opencl backend (built only where OpenCL is found, configure's
 * HAVE_OPENCL): one tiled kernel for any OpenCL device, tested on PoCL. */
typedef struct backend_cl backend_cl_t;
/* Opens the first GPU, else the first device of any kind, and builds the
 * kernel. NULL on failure, with the reason in err (errlen bytes). */
backend_cl_t *backend_opencl_create(char *err, size_t errlen);
void backend_opencl_destroy(backend_cl_t *cl);
/* "platform / device" names of the device in use. */
const char *backend_opencl_device(const backend_cl_t *cl);
/* Same contract as backend_cpu_matmul_i8. 0, ASSAY_EARG, ASSAY_ENOMEM or
 * ASSAY_EIO (an OpenCL call failed). */
int backend_opencl_matmul_i8(backend_cl_t *cl, const int8_t *A, const int8_t *Bt, int32_t *C,
			     uint32_t m, uint32_t n, uint32_t k);

#endif
