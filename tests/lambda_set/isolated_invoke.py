"""Run in a fresh interpreter (``-I -S``): import one handler, invoke it once, and report where
every loaded module came from.

Reads a JSON spec on stdin: ``roots`` (kind and folder, in path order: the code asset, the
layer, the runtime's packages), ``extra_paths`` (folders put on the path that are not allowed,
for the check's own test), the handler, the event and the context's values. Prints one line,
``MARKER`` then JSON: the handler's import error, its answer or error, and each module whose
file is in none of the roots nor the standard library.
"""

import importlib
import json
import sys
import sysconfig
import traceback

MARKER = "@@lambda-set@@ "


def _location(module):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if origin in ("built-in", "frozen"):
        return "<built-in>"
    where = getattr(module, "__file__", None) or origin
    if where is None:
        paths = list(getattr(module, "__path__", None) or [])
        where = paths[0] if paths else None
    return where


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def outside(roots):
    """(module, file) of every loaded module that comes from no allowed place."""
    paths = sysconfig.get_paths()
    stdlib = {paths["stdlib"], paths["platstdlib"]}
    site = {paths["purelib"], paths["platlib"]}
    allowed = [folder for _, folder in roots]
    found = []
    for name, module in sorted(sys.modules.items()):
        if module is sys.modules["__main__"]:  # this script (multiprocessing aliases it)
            continue
        where = _location(module)
        if where is None:
            # Made at run time (no file, no path): it belongs where its top package does.
            top = sys.modules.get(name.partition(".")[0])
            where = _location(top) if top is not None and top is not module else None
        if where is None and name in sys.builtin_module_names:
            continue
        if where == "<built-in>":
            continue
        if where is not None and any(_under(where, folder) for folder in allowed):
            continue
        in_stdlib = where is not None and any(_under(where, folder) for folder in stdlib)
        if in_stdlib and not any(_under(where, folder) for folder in site):
            continue
        found.append([name, where or "<no file>"])
    return found


def main():
    spec = json.load(sys.stdin)
    roots = spec["roots"]
    sys.path[:0] = [folder for _, folder in roots]
    sys.path += spec.get("extra_paths", [])

    class Context:
        function_name = spec["function_name"]
        function_version = "$LATEST"
        memory_limit_in_mb = spec["memory_mb"]
        aws_request_id = "00000000-0000-4000-8000-000000000000"
        invoked_function_arn = spec["function_arn"]
        log_group_name = "/aws/lambda/" + spec["function_name"]
        log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

        @staticmethod
        def get_remaining_time_in_millis():
            return 30000

    report = {"import_error": None, "answer": None, "error": None}
    module_name, _, attribute = spec["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception:
        report["import_error"] = traceback.format_exc(limit=-3)
    else:
        try:
            report["answer"] = handler(spec["event"], Context())
        except Exception:
            report["error"] = traceback.format_exc(limit=-3)
    report["outside"] = outside(roots)
    sys.stdout.flush()
    print(MARKER + json.dumps(report, default=str), flush=True)


main()
