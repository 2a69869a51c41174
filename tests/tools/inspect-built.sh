#!/bin/sh
# inspect-built.sh [LIST]: runs rseq-inspect over the files the build made and fails
# unless every descriptor in them is valid.  LIST (default: the build's
# tests/tools/inspect-targets.list, written from the make variable INSPECT_TARGETS)
# names one file per line, relative to the build directory.  A libtool wrapper
# script or .la file stands for the real file under .libs.  A listed file that is
# missing fails the test: nothing is skipped silently.
set -u
b=${RSEQKIT_BUILDDIR:-.}
list=${1:-$b/tests/tools/inspect-targets.list}
tool=${RSEQ_INSPECT:-$b/tools/rseq-inspect/rseq-inspect}

if [ ! -f "$list" ]; then
	echo "inspect-built: no list of targets: $list" >&2
	exit 1
fi

is_elf() {
	[ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]
}

missing=0
set --
while IFS= read -r t; do
	[ -n "$t" ] || continue
	case $t in
	/*) p=$t ;;
	*) p=$b/$t ;;
	esac
	if [ ! -f "$p" ]; then
		echo "inspect-built: FAIL: $t: no such file (listed in INSPECT_TARGETS)" >&2
		missing=1
		continue
	fi
	dir=$(dirname "$p")
	base=$(basename "$p")
	case $base in
	*.la)
		dlname=$(sed -n "s/^dlname='\(.*\)'\$/\1/p" "$p")
		if [ -z "$dlname" ] || [ ! -f "$dir/.libs/$dlname" ]; then
			echo "inspect-built: FAIL: $t: no shared library built for it" >&2
			missing=1
			continue
		fi
		p=$dir/.libs/$dlname
		;;
	*)
		if ! is_elf "$p" && [ -f "$dir/.libs/$base" ]; then
			p=$dir/.libs/$base  # libtool wrapper script
		fi
		;;
	esac
	echo "inspect-built: $t -> $p"
	set -- "$@" "$p"
done < "$list"

if [ "$#" -eq 0 ]; then
	echo "inspect-built: FAIL: the list of targets is empty" >&2
	exit 1
fi
"$tool" "$@"
status=$?
echo "inspect-built: rseq-inspect exited with $status"
if [ "$missing" -ne 0 ]; then
	exit 1
fi
exit $status
