#!/usr/bin/python3
# The lab's vLLM stand-in: answers /health with {"status": "ok"} on ADDR:PORT.
# Like the runbook's vLLM it is not restarted by its manager: after a crash
# it stays down until someone runs the recovery step.
import http.server
import json
import os
import sys

BODY = json.dumps({"status": "ok", "pid": os.getpid()}).encode()


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Health).serve_forever()
