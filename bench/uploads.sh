#!/usr/bin/env bash
# Upload image work against libvips, in the same run: for a 12 MP and a
# 3 MP phone-like JPEG (bench/uploadproc -gen: photographic texture, EXIF
# orientation 6, camera and GPS tags), alternating ROUNDS times,
#   libvips   vipsthumbnail shrink-on-load to 1080 px, metadata stripped,
#             then 320 px from the 1080 (two processes, CPU summed, peak
#             RSS the larger)
#   photofeed media.Process (bench/uploadproc: stripped original, 1080 px
#             and 320 px variants), one image per process
#   photofeed-vips
#             the same built with -tags vips (CGO_ENABLED=1), whose
#             media.Process makes the variants with libvips; only where
#             libvips-dev is installed (pkg-config finds vips)
# and prints each run's CPU seconds (user+sys) and peak RSS, the means and
# the ratio photofeed / libvips. CPU, not wall time: the machine may be
# shared. Needs vipsthumbnail (apt package libvips-tools).
#
# Each vipsthumbnail process pays libvips's start-up (loading its modules,
# starting its threads) before any image work, a large part of the
# pipeline's CPU; a worker linking libvips pays it once. So each round
# also runs both sides on a 64×48 photo ("start-up"), and the last ratio
# is of the work net of it. The vips build starts libvips at its first
# photo whatever it is, so its own start-up column (govips-start) counts
# that, as a worker pays it once.
#
#   [ROUNDS=5] [OLD=path/to/uploadproc] bench/uploads.sh
#
# With OLD, a third column runs that build of bench/uploadproc too (e.g.
# one built from an earlier commit), alternating with the others.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
command -v vipsthumbnail >/dev/null || { echo "needs vipsthumbnail (apt-get install libvips-tools)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/uploadproc" ./bench/uploadproc
withvips=
if pkg-config --exists vips 2>/dev/null; then
	CGO_ENABLED=1 go build -tags vips -o "$work/uploadproc-vips" ./bench/uploadproc
	withvips=1
fi
"$work/uploadproc" -gen 4000x3000 -out "$work/p12.jpg"
"$work/uploadproc" -gen 2000x1500 -out "$work/p3.jpg"
"$work/uploadproc" -gen 64x48 -out "$work/tiny.jpg"

# cpu_rss CMD...: "user+sys peak-KiB" of one process.
cpu_rss() {
	/usr/bin/time -f '%U %S %M' -o "$work/t" "$@" >/dev/null
	awk '{printf "%.3f %d", $1 + $2, $3}' "$work/t"
}
vips() { # PHOTO [LARGE THUMB]
	local a b
	a=$(cpu_rss vipsthumbnail "$1" --size "${2:-1080}" -o "$work/large.jpg[Q=88,strip]")
	b=$(cpu_rss vipsthumbnail "$work/large.jpg" --size "${3:-320}" -o "$work/thumb.jpg[Q=88,strip]")
	echo "$a $b" | awk '{printf "%.3f %d", $1 + $3, ($2 > $4 ? $2 : $4)}'
}

for photo in p12 p3; do
	f="$work/$photo.jpg"
	echo "== $photo.jpg: $(identify -format '%wx%h' "$f" 2>/dev/null || true) $(stat -c %s "$f") bytes"
	cols="libvips photofeed vips-start go-start"
	[ -n "$withvips" ] && cols="$cols photofeed-vips govips-start"
	[ -n "${OLD:-}" ] && cols="$cols old"
	for r in $(seq "$ROUNDS"); do
		line="round $r"
		for c in $cols; do
			case $c in
			libvips) v=$(vips "$f") ;;
			photofeed) v=$(cpu_rss "$work/uploadproc" -in "$f") ;;
			old) v=$(cpu_rss "$OLD" -in "$f") ;;
			vips-start) v=$(vips "$work/tiny.jpg" 64 32) ;;
			go-start) v=$(cpu_rss "$work/uploadproc" -in "$work/tiny.jpg") ;;
			photofeed-vips) v=$(cpu_rss "$work/uploadproc-vips" -in "$f") ;;
			govips-start) v=$(cpu_rss "$work/uploadproc-vips" -in "$work/tiny.jpg") ;;
			esac
			line="$line  $c $v"
		done
		echo "$line"
	done | tee "$work/runs"
	awk -v cols="$cols" '
		{ for (i = 3; i <= NF; i += 3) { cpu[$i] += $(i+1); if ($(i+2) > rss[$i]) rss[$i] = $(i+2) }; n++ }
		END {
			k = split(cols, c, " ")
			for (i = 1; i <= k; i++) printf "%-14s cpu %.3f s/image  peak RSS %.0f MB\n", c[i], cpu[c[i]] / n, rss[c[i]] / 1024
			for (i = 2; i <= k; i++) if (c[i] !~ /start/) printf "%s / libvips: cpu %.2f×\n", c[i], cpu[c[i]] / cpu["libvips"]
			for (i = 2; i <= k; i++) if (c[i] !~ /start/) {
				s = c[i] == "photofeed-vips" ? "govips-start" : "go-start"
				printf "%s / libvips net of start-up: cpu %.2f×\n", c[i], (cpu[c[i]] - cpu[s]) / (cpu["libvips"] - cpu["vips-start"])
			}
		}' "$work/runs"
done
