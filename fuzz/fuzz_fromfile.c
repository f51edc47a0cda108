/*
 * libFuzzer target: the --fromfile reader, fed through a memfd.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char operand[] = "operand";
	char *argv[] = { operand, NULL };
	struct path_list pl;
	char file[64];
	int fd = memfd_create("fromfile", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
		path_list_build(&pl, file, argv, 1);
		path_list_free(&pl);
	}
	close(fd);
	return 0;
}
