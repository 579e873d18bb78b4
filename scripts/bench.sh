#!/usr/bin/env bash
# make bench: piv's performance figures, each next to its target and, where
# the issue names one, a floor measured in the same run on the same machine.
# Figures, not pass/fail: a noisy 2-core box must not fail a build.
set -uo pipefail
cd "$(dirname "$0")/.."
export TESTCONTAINERS_RYUK_DISABLED=true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

metric() { # file benchmark-name -> median-ms (or ns/op in ms)
  awk -v n="$2" '$1 ~ "^Benchmark"n"(-[0-9]+)?$" {
      for (i=1;i<=NF;i++) if ($(i+1)=="median-ms") {print $i; exit}
      for (i=1;i<=NF;i++) if ($(i+1)=="ns/op") {printf "%.1f\n", $i/1e6; exit} }' "$1"
}

echo "== gate (issue 2): technical PIV of 3 nodes + service, whole process, vs a hand-written concurrent client"
go test -run '^$' -bench 'GateProcess|FloorClient|APIJourneyProcess|BrowserJourneyProcess' -benchtime 15x ./cli | tee "$out/cmd.txt" | grep -E '^Benchmark'
echo "== issue 10: B1 (quote page journey, 1 target), B4 (--fleet: 3 nodes + service), W1 (technical + API, --fleet), whole processes, beside their floors"
go test -run '^$' -bench '^Benchmark(B1|B1Floor|B4|B4Floor|W1|W1Floor)$' -benchtime 10x ./cli | tee "$out/fleet.txt" | grep -E '^Benchmark'
echo "== probe.Gather in-process (facts only)"
go test -run '^$' -bench 'Gather' -benchtime 50x ./pkg/probe | tee "$out/probe.txt" | grep -E '^Benchmark'
echo "== browser (issue 3): launch + pinned journey, in-process"
go test -run '^$' -bench . -benchtime 5x ./pkg/browser | tee "$out/browser.txt" | grep -E '^Benchmark'

echo "== image (issue 4): piv run --image, whole process (start + wait + suites + cleanup)"
fixtures/images/build.sh >/dev/null
go build -o bin/piv ./cmd/piv
img_times=()
for i in 1 2 3 4 5; do
  s=$(date +%s%N)
  QUOTE_TEST_PASSWORD=piv-demo-password bin/piv run quote --image piv-quoteapp:2.4.1 --label-filter '!browser' --settle 0s \
    --out "$out/img$i" >/dev/null 2>"$out/img$i.err" || echo "  run $i exited $?"
  img_times+=($(( ($(date +%s%N) - s) / 1000000 )))
done
img_median=$(printf '%s\n' "${img_times[@]}" | sort -n | sed -n 3p)
echo "  runs (ms): ${img_times[*]}  median: $img_median"
go test -run '^$' -bench 'StartStop|BareDocker' -benchtime 3x ./pkg/ephemeral | tee "$out/eph.txt" | grep -E '^Benchmark'

echo "== continuity sampler (issue 5): CPU at 50 ms"
go test -run '^$' -bench 'SamplerCPU' -benchtime 100x ./pkg/watch | tee "$out/watch.txt" | grep -E '^Benchmark'
if [ -x fixtures/rolling/bench.sh ] || [ -f fixtures/rolling/bench.sh ]; then
  echo "== rolling deployment (issue 5): gate's added time per node"
  bash fixtures/rolling/bench.sh || echo "  (rolling bench failed: $?)"
fi
echo "== piv serve (issue 11): time the HTTP gate adds over piv run, same fleet, same run"
go test -run '^$' -bench 'ServeOverhead' -benchtime 20x ./cli | tee "$out/serve.txt" | grep -E '^Benchmark'
serve_ms=$(awk '$1 ~ /^BenchmarkServeOverhead/ {for (i=1;i<=NF;i++) if ($(i+1)=="overhead-ms/gate") print $i}' "$out/serve.txt")
serve_added=$(awk '$1 ~ /^BenchmarkServeOverhead/ {for (i=1;i<=NF;i++) if ($(i+1)=="server-added-ms") print $i}' "$out/serve.txt")

cat <<SUMMARY

== summary (this machine, this run)
  gate, whole process, median      $(metric "$out/cmd.txt" GateProcess) ms   target < 100 ms   floor client $(metric "$out/cmd.txt" FloorClient) ms (venom ~180 ms, newman ~1.3 s)
  API journey, whole process       $(metric "$out/cmd.txt" APIJourneyProcess) ms
  browser journey, 1 target        $(metric "$out/cmd.txt" BrowserJourneyProcess) ms   target < 1000 ms (Playwright ~1.6 s)
  piv run --image, whole process   ${img_median} ms   target < 3000 ms
  B1 quote page, 1 target          $(metric "$out/fleet.txt" B1) ms   floor (bare go-rod program) $(metric "$out/fleet.txt" B1Floor) ms   target <= 1.0x
  B4 --fleet, 3 nodes + service    $(metric "$out/fleet.txt" B4) ms   floor (bare go-rod, 4 targets in turn) $(metric "$out/fleet.txt" B4Floor) ms   target <= 0.8x
  W1 --fleet technical + API       $(metric "$out/fleet.txt" W1) ms   floor (bare net/http, in-process) $(metric "$out/fleet.txt" W1Floor) ms   target <= 2.0x
  piv serve over piv run, median   ${serve_ms} ms   target <= 50 ms   (server's own share, Server-Timing: ${serve_added} ms)
SUMMARY
