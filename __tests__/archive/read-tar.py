# Reads a tar from stdin with Python's tarfile and prints each entry as JSON (names: one char per byte).
import json, sys, tarfile

entries = []
error = None
try:
    with tarfile.open(fileobj=sys.stdin.buffer, mode="r|", encoding="utf-8", errors="surrogateescape") as tar:
        for member in tar:
            kind = ("file" if member.isreg() else "directory" if member.isdir() else
                    "symlink" if member.issym() else "link" if member.islnk() else "other")
            name = member.name.encode("utf-8", "surrogateescape").decode("latin1")
            entries.append({"name": name, "type": kind, "mode": member.mode & 0o7777, "size": member.size})
except Exception as exc:  # the reading stops here; what came before is kept
    error = f"{type(exc).__name__}: {exc}"
print(json.dumps({"entries": entries, "error": error}))
