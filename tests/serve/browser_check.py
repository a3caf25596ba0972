#!/usr/bin/python3
"""Drives `osp serve`'s web page in headless Chromium through the DevTools protocol (standard
library only: a minimal WebSocket client). Opens PAGE_URL (which fills the form and submits it),
waits until the page's <video> element has loaded the finished video, checks the page's status
line, and saves a screenshot.

    browser_check.py CHROMIUM PAGE_URL SCREENSHOT.png [TIMEOUT_S]

Exit 0 when the video loaded, 1 otherwise (with the reason on stderr).
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


class WebSocket:
    """Just enough of RFC 6455 for one DevTools session: text frames, client masking."""

    def __init__(self, url):
        host, port, path = re.match(r"ws://([^:/]+):(\d+)(/.*)", url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        if b" 101 " not in answer.split(b"\r\n")[0]:
            raise RuntimeError("WebSocket upgrade refused: " + answer.decode(errors="replace"))
        self.buffer = answer.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        header = bytearray([0x81])
        n = len(data)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        self.sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            if b0 & 0x0F in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class DevTools:
    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.receive())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def main():
    chromium, page_url, screenshot = sys.argv[1:4]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120
    profile = tempfile.mkdtemp(prefix="osp-browser-")
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-dev-shm-usage",
                                "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                "--window-size=1000,1100", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = browser.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = match.group(1) if match else None
        if port is None:
            print("chromium did not start its DevTools endpoint", file=sys.stderr)
            return 1
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Page.navigate", url=page_url)
        deadline = time.time() + timeout
        status = ""
        while time.time() < deadline:
            status = tools.evaluate("document.getElementById('status') && document.getElementById('status').textContent") or ""
            loaded = tools.evaluate("document.getElementById('player').dataset.loaded === 'true' && "
                                    "document.getElementById('player').readyState >= 2")
            if loaded:
                break
            if status.startswith(("failed", "cancelled", "lost", "done, but")):
                print(f"the page says: {status}", file=sys.stderr)
                return 1
            time.sleep(0.25)
        else:
            print(f"the video did not load within {timeout} s; the page says: {status}", file=sys.stderr)
            return 1
        duration = tools.evaluate("document.getElementById('player').duration")
        shot = tools.call("Page.captureScreenshot", format="png")["data"]
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot))
        print(f"video loaded ({duration:.2f} s long); status: {status}")
        return 0
    finally:
        browser.kill()
        browser.wait()


if __name__ == "__main__":
    sys.exit(main())
