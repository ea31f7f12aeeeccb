# A differential check against the kernel's view: real programs (cat, cp,
# sed -i, mv, rm, tar, python3, sort, dd, gzip, ls, find) run under the
# shim and under strace -f -y at once; every PHI path strace shows being
# read, written, listed, created, renamed, removed, linked or re-permitted
# by a call that succeeded must appear in the trail (as target or target2).
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip "no strace"
setup
start_collector
D=$P/4711
mkdir -p "$D/sub"
printf 'Name: Jane Doe\nDx: asthma\n' >"$D/chart.txt"
printf 'b\na\n' >"$D/list.txt"
printf 'x\n' >"$D/sub/x.txt"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
st() { # st NAME CMD...: the command under the shim and strace
	name=$1
	shift
	shim strace -f -y -qq -o "$T/strace.$name" \
		-e trace=%file,%desc,%memory,sendfile,copy_file_range,splice "$@" \
		>/dev/null 2>"$T/err.$name" || fail "$name failed: $(tail -n 3 "$T/err.$name")"
}
st cat cat "$D/chart.txt"
st cp cp "$D/chart.txt" "$D/copy.txt"
st sed sed -i s/asthma/ASTHMA/ "$D/chart.txt"
st mv mv "$D/copy.txt" "$D/moved.txt"
st rm rm "$D/moved.txt"
st tar_c tar -C "$P" -cf "$D/archive.tar" 4711/sub 4711/chart.txt
st tar_x tar -C "$D/sub" -xf "$D/archive.tar"
st python "$py" -c "
d = open('$D/chart.txt').read()
open('$D/py.txt', 'w').write(d)
open('$D/py.txt', 'a').write('more')
"
st sort sort -o "$D/sorted.txt" "$D/list.txt"
st dd dd if="$D/chart.txt" of="$D/dd.txt" status=none
st gzip gzip -k "$D/list.txt"
st ls ls "$D/sub"
st find find "$D" -name '*.txt'
settle

"${PHITRAIL_PYTHON:-python3}" - "$P" "$T" <<'EOP' >"$T/strace.paths" || fail "cannot read strace output"
import glob, re, sys
phi, tmp = sys.argv[1], sys.argv[2]
line_re = re.compile(r"^(?:\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")
fd_path = re.compile(r"<(" + re.escape(phi) + r"/[^>]*)>")
quoted = re.compile(r'"(' + re.escape(phi) + r'/[^"]*)"')
data_calls = {"read", "pread64", "readv", "preadv", "preadv2", "write",
              "pwrite64", "writev", "pwritev", "pwritev2", "getdents64",
              "sendfile", "copy_file_range", "splice", "ftruncate",
              "fchmod", "fchown"}
path_calls = {"rename", "renameat", "renameat2", "unlink", "unlinkat",
              "link", "linkat", "symlink", "symlinkat", "truncate",
              "chmod", "fchmodat", "chown", "fchownat", "lchown", "creat"}
seen = set()
for name in glob.glob(tmp + "/strace.*"):
    for line in open(name, errors="replace"):
        m = line_re.match(line)
        if not m or int(m.group(3)) < 0:
            continue
        call, args = m.group(1), m.group(2)
        if call in data_calls:
            first = args.split(",", 1)[0]
            seen.update(fd_path.findall(first))
            if call in ("sendfile", "copy_file_range", "splice"):
                seen.update(fd_path.findall(args))
        elif call == "mmap" and "PROT_READ" in args:
            seen.update(fd_path.findall(args))
        elif call in path_calls:
            seen.update(quoted.findall(args))
        elif call in ("open", "openat") and "O_CREAT" in args:
            seen.update(quoted.findall(args))
for p in sorted(seen):
    print(p)
EOP
[ -s "$T/strace.paths" ] || fail "strace showed no PHI path at all"
q | jq -r '.target, .target2 | select(. != null)' | sort -u >"$T/trail.paths"
missing=$(grep -vxF -f "$T/trail.paths" "$T/strace.paths")
[ -z "$missing" ] || fail "PHI paths strace saw used but the trail lacks: $missing"
echo "$(wc -l <"$T/strace.paths") PHI paths seen by strace, all in the trail"
pass
