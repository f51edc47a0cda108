/*
 * libFuzzer target: the decoder of the kernel's event records, with the
 * recursive bookkeeping on a small real tree, so that renames, deletes,
 * moves out and IN_IGNORED of any watch reach the watch table.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tree[] = "/tmp/fuzz_decode.XXXXXX";

static int
count(struct watcher *wt, const struct event *ev, void *arg)
{
	size_t len;

	(void)watch_path(wt, ev->watch, &len);
	*(size_t *)arg += len + strlen(ev->name);
	return 0;
}

static void
tree_make(void)
{
	static const char *const dirs[] = { "a", "a/b", "a/b/c", "d", "e" };
	char path[128];
	size_t i;

	if (mkdtemp(tree) == NULL)
		abort();
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tree, dirs[i]);
		mkdir(path, 0700);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_settings ws = { .recursive = 1, .follow_tree = 1 };
	struct watcher *wt;
	size_t sum = 0;

	if (tree[sizeof(tree) - 2] == 'X')
		tree_make();
	wt = watcher_new(&ws);
	if (watcher_add(wt, tree) == 0) {
		events_decode(wt, (const char *)data, size, count, &sum);
		events_decode(wt, (const char *)data, size / 2, count, &sum);
	}
	watcher_free(wt);
	return 0;
}
