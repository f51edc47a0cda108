load helper
load iw_helper

@test "inotifywait -r warns that setting up may take a while" {
	start_iw -r -e create w
	touch w/a
	wait_exit
	expect_status 0
	expect err 'Setting up watches.  Beware: since -r was given, this may take a while!' \
		'Watches established.'
}

@test "inotifywait -r watches existing subdirectories and names them in %w" {
	mkdir -p w/a/b
	start_iw -m -r -e create w
	touch w/a/b/x w/a/y w/z
	wait_lines out 3
	expect out 'w/a/b/ CREATE x' 'w/a/ CREATE y' 'w/ CREATE z'
}

@test "inotifywait -r on a file watches just that file" {
	touch f
	start_iw -r -e attrib f
	chmod 600 f
	wait_exit
	expect_status 0
	expect out 'f ATTRIB '
}

@test "inotifywait -r names a symlinked top directory with a slash" {
	mkdir w/d
	ln -s w ld
	start_iw -m -r -e create ld
	touch w/a w/d/b
	wait_lines out 2
	expect out 'ld/ CREATE a' 'ld/d/ CREATE b'
}

@test "inotifywait -r does not follow symlinks inside the tree" {
	mkdir other
	ln -s ../other w/link
	mkdir w/d
	start_iw -m -r -e create w
	touch other/x w/d/y
	wait_lines out 1
	expect out 'w/d/ CREATE y'
}

@test "inotifywait -m -r watches a directory created after the start" {
	start_iw -m -r -e create w
	mkdir w/n
	wait_file_match out '^w/ CREATE,ISDIR n$'
	wait_watches 2
	touch w/n/f
	wait_file_match out '^w/n/ CREATE f$'
	expect out 'w/ CREATE,ISDIR n' 'w/n/ CREATE f'
}

@test "inotifywait -m -r watches the existing subtree of a directory moved in" {
	mkdir -p outside/m/sub
	start_iw -m -r -e create,moved_to w
	mv outside/m w/m
	wait_file_match out '^w/ MOVED_TO,ISDIR m$'
	wait_watches 3
	touch w/m/sub/f
	wait_file_match out '^w/m/sub/ CREATE f$'
	has_line out 'w/ MOVED_TO,ISDIR m'
}

@test "inotifywait -m -r uses the new path after a directory is renamed" {
	mkdir -p w/a/b
	start_iw -m -r -e create,moved_from,moved_to w
	mv w/a w/a2
	touch w/a2/b/after
	wait_file_match out 'after$'
	expect out 'w/ MOVED_FROM,ISDIR a' 'w/ MOVED_TO,ISDIR a2' 'w/a2/b/ CREATE after'
}

# move_c_out: with w/c watched under -m -r, moves it out of the tree and
# waits until its watch is gone (w/s1 marks the point in the output).
move_c_out() {
	mkdir w/c elsewhere
	start_iw -m -r -e create,moved_from,moved_to w
	mv w/c elsewhere/c
	touch w/s1
	wait_file_match out '^w/ CREATE s1$'
	wait_watches_at_most 1
}

@test "inotifywait -m -r stops reporting a directory moved out of the tree" {
	move_c_out
	touch elsewhere/c/f w/s2
	wait_file_match out '^w/ CREATE s2$'
	expect out 'w/ MOVED_FROM,ISDIR c' 'w/ CREATE s1' 'w/ CREATE s2'
}

@test "inotifywait -m -r watches a directory again when it is moved back in" {
	move_c_out
	mv elsewhere/c w/c_back
	wait_file_match out '^w/ MOVED_TO,ISDIR c_back$'
	wait_watches 2
	touch w/c_back/g
	wait_file_match out '^w/c_back/ CREATE g$'
	expect out 'w/ MOVED_FROM,ISDIR c' 'w/ CREATE s1' 'w/ MOVED_TO,ISDIR c_back' \
		'w/c_back/ CREATE g'
}

@test "inotifywait -m -r stops reporting the subdirectories of a directory moved out" {
	deliberate_difference "the reference keeps watching the subdirectories under stale names"
	mkdir -p w/c/sub elsewhere
	start_iw -m -r -e create,moved_from,moved_to w
	mv w/c elsewhere/c
	touch w/s1
	wait_file_match out '^w/ CREATE s1$'
	wait_watches_at_most 1
	touch elsewhere/c/sub/f elsewhere/c/f w/s2
	wait_file_match out '^w/ CREATE s2$'
	expect out 'w/ MOVED_FROM,ISDIR c' 'w/ CREATE s1' 'w/ CREATE s2'
}

@test "inotifywait -m -r names a recreated and renamed directory by its new name" {
	deliberate_difference "the reference keeps the stale name w/x/"
	mkdir w/x
	start_iw -m -r -e create,delete,moved_from,moved_to w
	rmdir w/x
	wait_file_match out '^w/ DELETE,ISDIR x$'
	wait_watches_at_most 1
	mkdir w/x
	wait_file_match out '^w/ CREATE,ISDIR x$'
	wait_watches 2
	mv w/x w/y
	touch w/y/f
	wait_file_match out ' CREATE f$'
	expect out 'w/ DELETE,ISDIR x' 'w/ CREATE,ISDIR x' 'w/ MOVED_FROM,ISDIR x' \
		'w/ MOVED_TO,ISDIR y' 'w/y/ CREATE f'
}

@test "inotifywait -r prints DELETE,ISDIR and DELETE_SELF for a deleted subdirectory" {
	mkdir w/sub
	start_iw -m -r -e delete,delete_self w
	rmdir w/sub
	wait_lines out 2
	has_line out 'w/ DELETE,ISDIR sub'
	has_line out 'w/sub/ DELETE_SELF '
}

# --- exclusions ------------------------------------------------------------

@test "inotifywait -r @w/a excludes the subtree w/a" {
	mkdir -p w/a/deep w/b
	start_iw -m -r -e create w @w/a
	touch w/a/x w/a/deep/y w/b/z
	wait_lines out 1
	expect out 'w/b/ CREATE z'
}

@test "inotifywait -r @w/a/ with a trailing slash excludes the subtree too" {
	mkdir -p w/a/deep w/b
	start_iw -m -r -e create w @w/a/
	touch w/a/x w/a/deep/y w/b/z
	wait_lines out 1
	expect out 'w/b/ CREATE z'
}

@test "inotifywait -r compares exclusions as strings, so @./w/a does not match w/a" {
	mkdir -p w/a
	start_iw -m -r -e create w @./w/a
	touch w/a/x
	wait_lines out 1
	expect out 'w/a/ CREATE x'
}

@test "inotifywait -r never excludes a top-level path" {
	start_iw -m -r -e create w @w
	touch w/a
	wait_lines out 1
	expect out 'w/ CREATE a'
}

@test "inotifywait -m -r does not watch a new directory matching an @ exclusion" {
	deliberate_difference "the reference ignores @ exclusions for new directories"
	mkdir w/a
	start_iw -m -r -e create,delete w @w/a
	rmdir w/a
	wait_file_match out '^w/ DELETE,ISDIR a$'
	mkdir w/a
	wait_file_match out '^w/ CREATE,ISDIR a$'
	mkdir w/b
	wait_file_match out '^w/ CREATE,ISDIR b$'
	wait_watches 2
	[ "${BACKEND:-}" = fanotify ] || [ "$(count_watches "$PID")" -eq 2 ] ||
		fail "the excluded w/a was watched"
	touch w/a/x w/b/y
	wait_file_match out '^w/b/ CREATE y$'
	no_line out 'CREATE x$'
}

@test "inotifywait --exclude matches against watch name plus entry name" {
	mkdir w/sub
	start_iw -m -r -e create --exclude '^w/sub/x' w
	touch w/sub/x w/subx w/sub/y
	wait_lines out 2
	expect out 'w/ CREATE subx' 'w/sub/ CREATE y'
}

@test "inotifywait --excludei matches regardless of case" {
	start_iw -m -e create --excludei 'W/A' w
	touch w/a w/A w/b
	wait_lines out 1
	expect out 'w/ CREATE b'
}

@test "inotifywait --exclude can drop all events of one subdirectory" {
	mkdir w/a w/b
	start_iw -m -r -e create --exclude '^w/a/' w
	touch w/a/x w/b/y
	wait_lines out 1
	expect out 'w/b/ CREATE y'
}

@test "inotifywait --include '^w/\$' keeps only events on the directory itself" {
	start_iw -m -e open,create --include '^w/$' w
	touch w/a
	ls w >/dev/null
	wait_lines out 1
	expect out 'w/ OPEN,ISDIR '
}

@test "inotifywait --includei keeps matching events regardless of case" {
	start_iw -m -e create --includei '\.TXT$' w
	touch w/a.dat w/b.txt
	wait_lines out 1
	expect out 'w/ CREATE b.txt'
}

@test "inotifywait -m -r watches new directories even when --include drops their events" {
	deliberate_difference "the reference never watches a directory whose CREATE was filtered"
	start_iw -m -r -e create --include '\.txt$' w
	mkdir w/n
	wait_watches 2
	touch w/n/b.dat w/n/a.txt
	wait_lines out 1
	expect out 'w/n/ CREATE a.txt'
}
