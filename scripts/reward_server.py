#!/usr/bin/python3
"""The example brightness scorer of scripts/reward_brightness.py as an HTTP server, for the http
reward of `osp rl` (docs/rl-rewards.md). Standard library only.

    scripts/reward_server.py --port 8000     # then: --reward 'http: http://127.0.0.1:8000/score'
    scripts/reward_server.py --port 0        # picks a free port

The first line on stdout is the port it listens on (127.0.0.1 only). Every POST takes a JSON
request body and answers the JSON response with status 200. Flags that make it misbehave, for tests:
--garbage, --nan, --huge, --wrong-id, --hang (as in reward_brightness.py) and --status CODE
(answer with that HTTP status).
"""
import argparse
import http.server
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reward_brightness import response_text  # noqa: E402


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = response_text(request, args).encode()
            self.send_response(args.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *log_args):
            pass  # quiet: one line per video would flood the run's log

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="0: pick a free one")
    parser.add_argument("--status", type=int, default=200)
    for flag in ("--garbage", "--nan", "--huge", "--wrong-id", "--hang"):
        parser.add_argument(flag, action="store_true")
    args = parser.parse_args()
    server = http.server.HTTPServer(("127.0.0.1", args.port), make_handler(args))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
