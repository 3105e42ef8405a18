# Shell helpers shared by the demo and the shell tests (sourced, POSIX sh).

# fail MESSAGE...: report one failed check and count it in $failures.
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# wait_for SECONDS COMMAND...: poll (every 50 ms) until the command
# succeeds; 1 if it never did within SECONDS.
wait_for() {
	n=$(($1 * 20))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}
