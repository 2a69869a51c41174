#!/bin/sh
# librseqkit.so needs libc.so.6 and nothing else (no libstdc++, no libgcc_s), keeps
# its static TLS small enough for dlopen, and is never unloaded (-z nodelete).
set -u
so=${RSEQKIT_BUILDDIR:?run through make check}/lib/.libs/librseqkit.so
[ -f "$so" ] || { echo "FAIL: $so missing"; exit 1; }
fail=0
needed=$(readelf -dW "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ] && echo "ok: NEEDED $needed" || { echo "FAIL: NEEDED is '$needed', want 'libc.so.6'"; fail=1; }
readelf -dW "$so" | grep -q 'FLAGS_1.*NODELETE' && echo "ok: NODELETE" || { echo "FAIL: not linked with -z nodelete"; fail=1; }
tls=$(readelf -lW "$so" | awk '$1 == "TLS" { print $6 }')
[ -n "$tls" ] && [ $((tls)) -le 128 ] && echo "ok: static TLS $((tls)) bytes" || { echo "FAIL: static TLS '$tls' bytes (want <= 128)"; fail=1; }
exit $fail
