/*
 * libFuzzer target: the --format compiler and renderer, with the
 * validation that inotifywait runs on a user's format.
 */
#define main inotifywait_main
#include "../inotifywait.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options opt = { 0 };
	struct printer pr;
	struct event ev = { -1, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_ISDIR,
		0x1e3, "name with space" };
	char *fmt = malloc(size + 1);

	memcpy(fmt, data, size);
	fmt[size] = '\0';
	opt.format = fmt;
	opt.timefmt = "%F %T";
	opt.no_newline = size > 0 && data[0] & 1;
	memset(&pr, 0, sizeof(pr));
	pr.opt = &opt;
	pr.fmt.timefmt = opt.timefmt;
	format_compile(&pr.fmt, fmt, !opt.no_newline);
	(void)format_uses(fmt, STEP_TIME);
	print_formatted(&pr, NULL, &ev);
	print_csv(&pr, NULL, &ev);
	free(pr.fmt.steps);
	free(pr.fmt.text.data);
	free(pr.fmt.time_text.data);
	free(pr.out.data);
	free(fmt);
	return 0;
}
