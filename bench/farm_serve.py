#!/usr/bin/env python3
"""Serve a site farm (../shared/bench/sitefarm/gen.py) without nginx, for the benchmarks' --smoke.

    farm_serve.py FARM_DIR READY_FILE

Each host of the farm (FARM_DIR/hosts/127.0.X.Y/) is served on its own loopback address, all on
one free port, so that a smoke run needs neither nginx nor gen.py's fixed port 8088 (which a
full benchmark running at the same time may hold). The farm's absolute URLs (companies.csv,
urls.txt, sitemaps, links between sites) are rewritten in place to that port, then the port is
written to READY_FILE. Serves until SIGTERM or SIGINT. Python's standard library only: it is a
smoke-test server, not a measured one (the full benchmarks keep nginx).
"""
import functools, http.server, os, re, signal, sys, threading


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def rewrite(farm, port):
    url = re.compile(rb"(http://127\.0\.\d+\.\d+):\d+")
    for root, _, files in os.walk(farm):
        for name in files:
            path = os.path.join(root, name)
            data = open(path, "rb").read()
            new = url.sub(rb"\1:" + str(port).encode(), data)
            if new != data:
                open(path, "wb").write(new)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    farm, ready = sys.argv[1], sys.argv[2]
    hosts = sorted(os.listdir(os.path.join(farm, "hosts")))
    if not hosts:
        sys.exit(f"{farm}/hosts is empty (run gen.py)")
    servers = []
    port = 0
    for ip in hosts:
        handler = functools.partial(Quiet, directory=os.path.join(farm, "hosts", ip))
        # The first host picks a free port; the others take the same one on their own address.
        server = http.server.ThreadingHTTPServer((ip, port), handler)
        port = server.server_address[1]
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    rewrite(farm, port)
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, ready)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
