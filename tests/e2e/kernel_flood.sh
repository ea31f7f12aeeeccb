# A flood through the kernel path: a statically linked program reads
# 10,000 PHI files of 200 patients as fast as it can. Every read is stored
# once from the kernel, or the loss is reported: the count of kernel
# records plus what Audit Records Lost reports accounts for every file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "fanotify needs CAP_SYS_ADMIN"
SAFETY_NET=on setup
n_patients=200
per=50
total=$((n_patients * per))
i=0
while [ $i -lt $n_patients ]; do
	mkdir -p "$P/p$i"
	i=$((i + 1))
done
# one small file per path, written without reading anything back
awk -v dir="$P" -v np=$n_patients -v per=$per 'BEGIN {
	for (i = 0; i < np; i++)
		for (j = 0; j < per; j++) {
			f = dir "/p" i "/f" j ".txt"
			printf "chart %d %d\n", i, j > f
			close(f)
			print f > "/dev/stderr"
		}
}' 2>"$T/list"
[ "$(wc -l <"$T/list")" = $total ] || fail "could not write the files"
start_collector
grep -q "kernel safety net: on" "$T/collector.log" ||
	skip "no fanotify here: $(grep 'kernel safety net' "$T/collector.log")"
cc -O2 -static -o "$T/static_read" "$ROOT/tests/programs/kernel_read.c" 2>/dev/null ||
	skip "no static libc"
PAUSE_MS=2000 "$T/static_read" plain "@$T/list" >/dev/null || fail "the static program failed"
i=0
while [ $i -lt 120 ]; do
	got=$(count --event viewed)
	[ "$got" -ge $total ] && break
	lost=$(count --event lost)
	[ "$lost" -gt 0 ] && break
	sleep 1
	i=$((i + 1))
done
settle
got=$(count --event viewed)
lost=$(count --event lost)
if [ "$lost" = 0 ]; then
	[ "$got" = $total ] || fail "$got of $total reads stored, and no loss reported"
else
	echo "note: the kernel queue overflowed ($lost report(s)); $got of $total stored"
	[ "$got" -le $total ] || fail "$got records for $total reads"
fi
[ "$(jfield '.detail.source' --event viewed | sort -u)" = kernel ] || fail "a record not from the kernel"
[ "$(count --patient p199 --event viewed)" -le $per ] || fail "patient p199 has too many records"
[ "$lost" = 0 ] && [ "$(count --patient p199 --event viewed)" != $per ] && fail "patient p199 lacks records"
pass
