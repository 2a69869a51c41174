# table.awk: the tables of `make check-glibc` and `make check-kernels`, from the
# "@@MATRIX result" and "@@MATRIX facts" lines of tests/matrix/run-one.sh (other lines
# are ignored, so a whole serial console log can be fed in).  For every kernel: one row
# per glibc, one column per registration mode, each cell the test cases that passed
# (and skipped) over all programs, or FAIL; then what matrix-probe found in glibc
# mode.  Ends with the failures and "N passed, N failed, N skipped".
# Variables: title (first line), modes (column order, default "glibc rseqkit enosys eperm").

function field(name,    i, n, kv) {
	for (i = 3; i <= NF; i++) {
		n = index($i, "=")
		if (n && substr($i, 1, n - 1) == name)
			return substr($i, n + 1)
	}
	return ""
}

function add(list, item) {
	return index(" " list " ", " " item " ") ? list : (list == "" ? item : list " " item)
}

# Versions sort numerically by component: 6.1 < 6.12 < 7.2, 2.36 < 2.41.
function vkey(v,    parts, n, i, k) {
	n = split(v, parts, /[^0-9]+/)
	k = ""
	for (i = 1; i <= 4; i++)
		k = k sprintf("%06d", (i <= n && parts[i] != "") ? parts[i] : 0)
	return k
}

function sorted(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && vkey(a[j - 1]) > vkey(a[j]); j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	t = ""
	for (i = 1; i <= n; i++)
		t = t (i > 1 ? " " : "") a[i]
	return t
}

function short(kernel,    p) {  # 6.1.0-50-cloud-amd64 -> 6.1
	split(kernel, p, /[^0-9]+/)
	return p[1] "." p[2]
}

BEGIN {
	if (modes == "")
		modes = "glibc rseqkit enosys eperm"
	nmodes = split(modes, mode_list, " ")
	for (i = 1; i <= nmodes; i++)
		is_mode[mode_list[i]] = 1
}

/^@@MATRIX result / {
	sub(/\r$/, "")
	k = field("kernel"); g = field("glibc"); m = field("mode"); p = field("program")
	kernels = add(kernels, k); glibcs = add(glibcs, g)
	key = k SUBSEP g SUBSEP m
	st = field("status")
	tests[key] += field("tests"); failed[key] += field("failed"); skipped[key] += field("skipped")
	if (st == "FAIL") {
		bad[key] = 1
		failures = failures sprintf("  FAIL  Linux %s, glibc %s, %s mode: %s (%s)\n", short(k), g, m, p,
			field("note") != "" ? field("note") : "exit " field("exit"))
	}
	if (st == "SKIP" && field("reason") != "")
		skipped_programs[field("reason")] = add(skipped_programs[field("reason")], p)
	seen[key] = 1
	if (!(m in is_mode))
		others = others sprintf("  %-6s Linux %s, glibc %s: %s\n", st, short(k), g, p)
	total_pass += field("tests") - field("failed") - field("skipped")
	total_fail += field("failed"); total_skip += field("skipped")
	next
}

/^@@MATRIX facts / {
	sub(/\r$/, "")
	if (field("mode") != "glibc")
		next
	key = field("kernel") SUBSEP field("glibc")
	facts[key] = sprintf("%-7s %-13s %-14s %-11s %-13s %-13s %s",
		field("glibc"), field("rseq_size"), field("rseq_offset"), field("kernel_length"),
		field("area_align"), field("feature_size") "/" field("align"), field("slice"))
	next
}

/^@@MATRIX boot-failed / {
	sub(/\r$/, "")
	k = field("kernel")
	failures = failures sprintf("  FAIL  %s: %s\n", k, field("reason"))
	total_fail++
	next
}

END {
	if (title != "")
		print title
	nk = split(sorted(kernels), klist, " ")
	ng = split(sorted(glibcs), glist, " ")
	for (i = 1; i <= nk; i++) {
		k = klist[i]
		printf "\nLinux %s (%s): test cases passed, per glibc and registration mode\n", short(k), k
		printf "%-7s", "glibc"
		for (j = 1; j <= nmodes; j++)
			printf " %-19s", mode_list[j]
		printf "\n"
		for (gi = 1; gi <= ng; gi++) {
			g = glist[gi]
			row = 0
			for (j = 1; j <= nmodes; j++)
				if ((k SUBSEP g SUBSEP mode_list[j]) in seen)
					row = 1
			if (!row)
				continue
			printf "%-7s", g
			for (j = 1; j <= nmodes; j++) {
				key = k SUBSEP g SUBSEP mode_list[j]
				if (!(key in seen))
					cell = "-"
				else if (bad[key])
					cell = sprintf("FAIL %d of %d", failed[key], tests[key])
				else {
					cell = sprintf("pass %d", tests[key] - skipped[key])
					if (skipped[key])
						cell = cell sprintf(" +%d skip", skipped[key])
				}
				printf " %-19s", cell
			}
			printf "\n"
		}
		hdr = 0
		for (gi = 1; gi <= ng; gi++) {
			key = k SUBSEP glist[gi]
			if (!(key in facts))
				continue
			if (!hdr) {
				printf "glibc's area (glibc mode):\n%-7s %-13s %-14s %-11s %-13s %-13s %s\n", "glibc",
					"__rseq_size", "__rseq_offset", "registered", "aligned to", "feature/align",
					"slice ext"
				hdr = 1
			}
			print facts[key]
		}
	}
	if (others != "")
		printf "\nOther checks (hooks):\n%s", others
	for (r in skipped_programs)
		printf "\nNot run (%s): %s\n", r, skipped_programs[r]
	if (failures != "")
		printf "\nFailures:\n%s", failures
	printf "\n%d passed, %d failed, %d skipped\n", total_pass, total_fail, total_skip
}
