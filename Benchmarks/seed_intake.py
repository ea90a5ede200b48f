"""Posts N unique addresses to a running Kuvert's POST /subscribe over one
keep-alive connection. Usage: seed_intake.py HOST:PORT N PREFIX"""
import http.client
import json
import sys

host, port = sys.argv[1].split(":")
count, prefix = int(sys.argv[2]), sys.argv[3]
connection = http.client.HTTPConnection(host, int(port))
for index in range(count):
    body = json.dumps({"email": f"{prefix}{index}@example.se"})
    connection.request("POST", "/subscribe", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 202:
        sys.exit(f"POST /subscribe answered {response.status}")
