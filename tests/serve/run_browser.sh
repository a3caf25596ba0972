#!/usr/bin/env bash
# The web page in a real browser (docs/serve.md "Web page"): starts `osp serve` with the shipped
# tiny model on a free port, has headless Chromium submit a Shapes prompt from the page and wait
# until its <video> element loaded the finished file (browser_check.py), then stops the server
# with SIGTERM and expects exit code 0.
# Usage: run_browser.sh OSP_BINARY MODEL_DIR OUT_DIR
set -euo pipefail
osp=$1 model=$2 out=$3
chromium=$(command -v chromium || true)
if [[ -z "$chromium" ]]; then
  echo "chromium is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
rm -rf "$out" && mkdir -p "$out"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$osp" serve --model "$model" --port "$port" --output-dir "$out/videos" > "$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health')" 2>/dev/null && break
  sleep 0.2
done
url="http://127.0.0.1:$port/?prompt=a%20red%20circle%20moving%20left%20on%20a%20black%20background&steps=10&autosubmit=1"
/usr/bin/python3 "$(dirname "$0")/browser_check.py" "$chromium" "$url" "$out/page.png" 120
kill -TERM $server
wait $server
trap - EXIT
echo "server stopped cleanly"
