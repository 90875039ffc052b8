#!/usr/bin/env python3
"""The app of local/sqlite-app: orders kept in SQLite (WAL mode), as a small web app keeps them.

`app.py serve` (the image's command) listens on 127.0.0.1:7000 for one-line requests: `insert ITEM` (replies
the new row's id once it is committed), `list` (every id), `count`, `ping`. It opens the database at the first
request that needs it, as web apps open theirs lazily, and closes it on SIGTERM: the last connection to
close checkpoints the WAL into the database and deletes the -wal and -shm files. `app.py insert ITEM`,
`app.py list`, `app.py count` and `app.py ping` are the client: one request each, the reply on stdout.
"""
import os
import signal
import socket
import socketserver
import sqlite3
import sys
import threading

DB = os.environ.get("APP_DB", "/data/shop.db")
ADDRESS = ("127.0.0.1", 7000)


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.conn = None

    def db(self):
        if self.conn is None:
            # synchronous=FULL: a commit is on disk before its reply, so a crash loses no acknowledged row.
            self.conn = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
            self.conn.execute("pragma journal_mode=wal")
            self.conn.execute("pragma synchronous=full")
            self.conn.execute("create table if not exists orders (id integer primary key, item text)")
        return self.conn

    def handle(self, request):
        verb, _, arg = request.partition(" ")
        with self.lock:
            if verb == "ping":
                return ["pong"]
            if verb == "insert":
                return [str(self.db().execute("insert into orders (item) values (?)", (arg,)).lastrowid)]
            if verb == "list":
                return [str(row[0]) for row in self.db().execute("select id from orders order by id")]
            if verb == "count":
                return [str(self.db().execute("select count(*) from orders").fetchone()[0])]
        return ["error: unknown request " + verb]

    def close(self):
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


def serve():
    store = Store()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            request = self.rfile.readline().decode().strip()
            self.wfile.write(("\n".join(store.handle(request)) + "\n").encode())

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(ADDRESS, Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    finally:
        server.server_close()
        store.close()


def client(request):
    with socket.create_connection(ADDRESS, timeout=30) as conn:
        conn.sendall((request + "\n").encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    text = reply.decode()
    # No reply at all (the server died mid-request) or an error: exit non-zero, so no caller takes it for an answer.
    if not reply or text.startswith("error"):
        sys.exit(text.strip() or "error: no reply")
    sys.stdout.write(text)


if __name__ == "__main__":
    args = sys.argv[1:] or ["serve"]
    if args[0] == "serve":
        serve()
    else:
        client(" ".join(args))
