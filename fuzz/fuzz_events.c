/*
 * libFuzzer target: the -e event-list parser, and printing what it gives.
 */
#include <stdlib.h>
#include <string.h>

#include "../common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *list = malloc(size + 1);
	char text[EVENT_TEXT_MAX];
	uint32_t mask;

	memcpy(list, data, size);
	list[size] = '\0';
	if (event_list_parse(list, &mask) == 0)
		event_mask_format(mask, size ? (char)data[0] : ',', text);
	if (size >= 4) {
		memcpy(&mask, data, 4);
		event_mask_format(mask, ',', text);
	}
	free(list);
	return 0;
}
