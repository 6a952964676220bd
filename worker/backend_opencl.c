/* The opencl backend (see backend.h): one OpenCL C kernel that multiplies
 * int8 matrices through 16 x 16 tiles staged in local memory, accumulating in
 * int32 exactly like the reference (k <= KERNEL_MAX_K keeps every sum inside
 * int32, so there is no overflow to disagree about). Runs on any OpenCL 1.2
 * device; PoCL in tests. Not for: the mlp kind (the worker runs it on cpu). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "worker/backend.h"

#define CL_TILE 16 /* work-group side; must match TS in the kernel source */

static const char kernel_src[] =
	"#define TS 16\n"
	"__kernel void matmul_i8(__global const char *A, __global const char *Bt,\n"
	"                        __global int *C, uint m, uint n, uint k) {\n"
	"  uint lc = get_local_id(0), lr = get_local_id(1);\n"
	"  uint col = get_group_id(0) * TS + lc, row = get_group_id(1) * TS + lr;\n"
	"  uint bcol = get_group_id(0) * TS + lr;\n"
	"  __local char As[TS][TS];\n"
	"  __local char Bs[TS][TS];\n"
	"  int acc = 0;\n"
	"  for (uint t0 = 0; t0 < k; t0 += TS) {\n"
	"    uint t = t0 + lc;\n"
	"    As[lr][lc] = (row < m && t < k) ? A[(ulong)row * k + t] : (char)0;\n"
	"    Bs[lr][lc] = (bcol < n && t < k) ? Bt[(ulong)bcol * k + t] : (char)0;\n"
	"    barrier(CLK_LOCAL_MEM_FENCE);\n"
	"    for (uint e = 0; e < TS; e++)\n"
	"      acc += (int)As[lr][e] * (int)Bs[lc][e];\n"
	"    barrier(CLK_LOCAL_MEM_FENCE);\n"
	"  }\n"
	"  if (row < m && col < n)\n"
	"    C[(ulong)row * n + col] = acc;\n"
	"}\n";

struct backend_cl {
	cl_context ctx;
	cl_command_queue queue;
	cl_program program;
	cl_kernel kernel;
	char name[256]; /* "platform / device" */
};

void backend_opencl_destroy(backend_cl_t *cl)
{
	if (!cl)
		return;
	if (cl->kernel)
		clReleaseKernel(cl->kernel);
	if (cl->program)
		clReleaseProgram(cl->program);
	if (cl->queue)
		clReleaseCommandQueue(cl->queue);
	if (cl->ctx)
		clReleaseContext(cl->ctx);
	free(cl);
}

/* Picks a GPU if any platform has one, else the first device found. */
static int pick_device(cl_platform_id *plat, cl_device_id *dev)
{
	cl_platform_id plats[16];
	cl_uint np = 0;
	if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS || np == 0)
		return -1;
	if (np > 16)
		np = 16;
	for (int want_gpu = 1; want_gpu >= 0; want_gpu--)
		for (cl_uint i = 0; i < np; i++) {
			cl_uint nd = 0;
			cl_device_type type = want_gpu ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_ALL;
			if (clGetDeviceIDs(plats[i], type, 1, dev, &nd) == CL_SUCCESS && nd > 0) {
				*plat = plats[i];
				return 0;
			}
		}
	return -1;
}

backend_cl_t *backend_opencl_create(char *err, size_t errlen)
{
	backend_cl_t *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cl_platform_id plat;
	cl_device_id dev;
	cl_int rc;
	if (pick_device(&plat, &dev)) {
		snprintf(err, errlen, "no OpenCL platform or device");
		goto fail;
	}
	char pname[100] = "", dname[100] = "";
	clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof(pname) - 1, pname, NULL);
	clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof(dname) - 1, dname, NULL);
	snprintf(cl->name, sizeof(cl->name), "%s / %s", pname, dname);
	cl->ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &rc);
	if (!cl->ctx) {
		snprintf(err, errlen, "clCreateContext failed (%d)", rc);
		goto fail;
	}
	cl->queue = clCreateCommandQueue(cl->ctx, dev, 0, &rc);
	if (!cl->queue) {
		snprintf(err, errlen, "clCreateCommandQueue failed (%d)", rc);
		goto fail;
	}
	const char *srcs[] = {kernel_src};
	cl->program = clCreateProgramWithSource(cl->ctx, 1, srcs, NULL, &rc);
	if (!cl->program || clBuildProgram(cl->program, 1, &dev, "", NULL, NULL) != CL_SUCCESS) {
		char log[512] = "";
		if (cl->program)
			clGetProgramBuildInfo(cl->program, dev, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, NULL);
		snprintf(err, errlen, "kernel build failed: %s", log);
		goto fail;
	}
	cl->kernel = clCreateKernel(cl->program, "matmul_i8", &rc);
	if (!cl->kernel) {
		snprintf(err, errlen, "clCreateKernel failed (%d)", rc);
		goto fail;
	}
	return cl;
fail:
	backend_opencl_destroy(cl);
	return NULL;
}

const char *backend_opencl_device(const backend_cl_t *cl)
{
	return cl->name;
}

int backend_opencl_matmul_i8(backend_cl_t *cl, const int8_t *A, const int8_t *Bt, int32_t *C,
			     uint32_t m, uint32_t n, uint32_t k)
{
	if (!m || !n || !k || k > KERNEL_MAX_K)
		return ASSAY_EARG;
	size_t abytes = (size_t)m * k, bbytes = (size_t)n * k, cbytes = (size_t)m * n * sizeof(int32_t);
	cl_int rc;
	cl_mem a = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, abytes, (void *)A, &rc);
	cl_mem b = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bbytes, (void *)Bt, &rc);
	cl_mem c = clCreateBuffer(cl->ctx, CL_MEM_WRITE_ONLY, cbytes, NULL, &rc);
	int err = ASSAY_EIO;
	if (!a || !b || !c) {
		err = ASSAY_ENOMEM;
		goto out;
	}
	cl_uint um = m, un = n, uk = k;
	if (clSetKernelArg(cl->kernel, 0, sizeof(a), &a) != CL_SUCCESS ||
	    clSetKernelArg(cl->kernel, 1, sizeof(b), &b) != CL_SUCCESS ||
	    clSetKernelArg(cl->kernel, 2, sizeof(c), &c) != CL_SUCCESS ||
	    clSetKernelArg(cl->kernel, 3, sizeof(um), &um) != CL_SUCCESS ||
	    clSetKernelArg(cl->kernel, 4, sizeof(un), &un) != CL_SUCCESS ||
	    clSetKernelArg(cl->kernel, 5, sizeof(uk), &uk) != CL_SUCCESS)
		goto out;
	size_t global[2] = {((size_t)n + CL_TILE - 1) / CL_TILE * CL_TILE,
			    ((size_t)m + CL_TILE - 1) / CL_TILE * CL_TILE};
	size_t local[2] = {CL_TILE, CL_TILE};
	if (clEnqueueNDRangeKernel(cl->queue, cl->kernel, 2, NULL, global, local, 0, NULL, NULL) != CL_SUCCESS)
		goto out;
	if (clEnqueueReadBuffer(cl->queue, c, CL_TRUE, 0, cbytes, C, 0, NULL, NULL) != CL_SUCCESS)
		goto out;
	err = 0;
out:
	if (a)
		clReleaseMemObject(a);
	if (b)
		clReleaseMemObject(b);
	if (c)
		clReleaseMemObject(c);
	return err;
}
